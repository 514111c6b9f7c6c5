package dev.vigil.server.probe;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.stats.ModelProbe;
import dev.vigil.probes.stats.ProbeSettings;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One model's probe state in the server: its settings, every discovered site, the statistics of the selected
 * ones (null when probing is disabled) and the requests dropped because the probe queue was full.
 */
final class ProbedModel {
    private final String name;
    private final ProbeSettings settings;
    private final List<ProbeSite> discovered;
    private final ModelProbe probe;
    private final Set<String> taps;
    private final AtomicLong dropped = new AtomicLong();

    ProbedModel(String name, ProbeSettings settings, List<ProbeSite> discovered) {
        this.name = name;
        this.settings = settings;
        this.discovered = List.copyOf(discovered);
        this.probe = settings.enabled() ? new ModelProbe(discovered, settings) : null;
        Set<String> tensors = new LinkedHashSet<>();
        if (probe != null) {
            for (ProbeSite s : probe.sites()) {
                tensors.add(s.tensor());
            }
        }
        this.taps = Set.copyOf(tensors);
    }

    String name() {
        return name;
    }

    ProbeSettings settings() {
        return settings;
    }

    /** Every site discovery found, selected or not. */
    List<ProbeSite> discovered() {
        return discovered;
    }

    /** The statistics, or null when the model is not probed. */
    ModelProbe probe() {
        return probe;
    }

    /** Whether any site is probed. */
    boolean probed() {
        return probe != null && !taps.isEmpty();
    }

    /** The tapped tensor names (graph outputs added for the selected sites). */
    Set<String> taps() {
        return taps;
    }

    long dropped() {
        return dropped.get();
    }

    void drop() {
        dropped.incrementAndGet();
    }
}
