package dev.vigil.server.shadow;

import ai.onnxruntime.OrtException;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.stats.ModelProbe;
import dev.vigil.probes.stats.ShadowStats;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One shadowed model's state: its settings, the shadow model it runs now (null until the first is built), its
 * measurements and its shadowed and skipped request counts. The shadow model is replaced only by the shadow thread.
 */
public final class ShadowedModel {
    private final String name;
    private final ShadowSettings settings;
    private final ModelProbe probe;
    private final ShadowStats stats;
    private final Set<String> outputs;
    private final AtomicLong shadowed = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private volatile ShadowModel current;
    /** The last closed window a build was tried from (shadow thread only); -1 before any. */
    private volatile long triedWindow = -1;

    /**
     * @param probe   the model's probe statistics, whose closed windows calibrate the shadow model
     * @param sites   the sites measured (kind {@code matmul_input}, not kept float)
     * @param outputs the float outputs compared
     */
    public ShadowedModel(String name, ShadowSettings settings, ModelProbe probe, List<ProbeSite> sites,
                         List<String> outputs) {
        this.name = name;
        this.settings = settings;
        this.probe = probe;
        this.stats = new ShadowStats(sites, outputs, new LinkedHashSet<>(settings.classOutputs()));
        this.outputs = Collections.unmodifiableSet(new LinkedHashSet<>(outputs));
    }

    public String name() {
        return name;
    }

    public ShadowSettings settings() {
        return settings;
    }

    ModelProbe probe() {
        return probe;
    }

    /** The measurements. */
    public ShadowStats stats() {
        return stats;
    }

    /** The compared float outputs. */
    public Set<String> outputs() {
        return outputs;
    }

    /** The shadow model running now; null until one is built. */
    public ShadowModel current() {
        return current;
    }

    /** Shadowed requests since start. */
    public long shadowed() {
        return shadowed.get();
    }

    /** Sampled requests not shadowed because the machine was busy, since start. */
    public long skipped() {
        return skipped.get();
    }

    void countShadowed() {
        shadowed.incrementAndGet();
    }

    /** Counts a request sampled for the shadow that was not shadowed. */
    public void countSkipped() {
        skipped.incrementAndGet();
    }

    /** Whether a shadow run can happen: a model is built, or a closed window it was not yet tried from exists. */
    boolean runnable() {
        return current != null || probe.closedWindows() - 1 > triedWindow;
    }

    long triedWindow() {
        return triedWindow;
    }

    void tried(long window) {
        triedWindow = window;
    }

    /** Puts {@code next} in place (the measurements since build start again) and closes the one it replaces. */
    void replace(ShadowModel next) throws OrtException {
        ShadowModel old = current;
        stats.restart();
        current = next;
        if (old != null) {
            old.close();
        }
    }

    /** Closes the running shadow model (once the shadow runner is closed). */
    public void close() {
        ShadowModel old = current;
        current = null;
        if (old != null) {
            try {
                old.close();
            } catch (OrtException e) {
                // closing a session fails only for one already closed
            }
        }
    }
}
