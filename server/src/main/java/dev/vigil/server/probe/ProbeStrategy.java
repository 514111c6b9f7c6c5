package dev.vigil.server.probe;

import java.util.Locale;

/**
 * Where a model's per-request statistics are computed ({@code probe.strategy}): on the host from the tapped site
 * tensors, or inside the model's graph ({@link dev.vigil.probes.reduce.ReductionGraph}) so that only small vectors
 * leave the run. {@link #AUTO} picks the graph on a CUDA device (the tensors would cross PCIe) and the host on a CPU
 * (where ONNX Runtime's unfused reduction ops cost more than one host pass over the taps).
 */
public enum ProbeStrategy {
    AUTO, HOST, GRAPH;

    /** The config value: {@code auto}, {@code host} or {@code graph}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@link #HOST} or {@link #GRAPH}: AUTO resolved for the device the model runs on. */
    public ProbeStrategy on(boolean cuda) {
        if (this != AUTO) {
            return this;
        }
        return cuda ? GRAPH : HOST;
    }

    /** The strategy a config value names; IllegalArgumentException listing the values otherwise. */
    static ProbeStrategy parse(String value) {
        for (ProbeStrategy s : values()) {
            if (s.label().equals(value)) {
                return s;
            }
        }
        throw new IllegalArgumentException("config.json 'probe.strategy' must be one of auto, host, graph, not '"
                + value + "'");
    }
}
