package dev.vigil.server.probe;

import ai.onnxruntime.OrtEnvironment;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.stats.ModelProbe;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.server.shadow.ShadowSettings;
import dev.vigil.server.shadow.ShadowedModel;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One model's probe state in the server: its settings, every discovered site, the statistics of the selected
 * ones (null when probing is disabled), its reusable tap buffers and the requests dropped because the probe queue
 * was full or every tap buffer set was busy.
 */
final class ProbedModel {
    private final String name;
    private final ProbeSettings settings;
    private final List<ProbeSite> discovered;
    private final Map<ProbeSite, String> names;
    private final ModelProbe probe;
    private final Set<String> taps;
    private final Set<String> unpinnedTaps;
    private final Set<String> pinnableTaps;
    private final TapBufferPool buffers;
    private final Set<String> reductions;
    private final AtomicLong dropped = new AtomicLong();
    private ShadowSettings shadowSettings = ShadowSettings.defaults();
    private ShadowedModel shadow;

    /**
     * @param maxTapSets the most tap buffer sets the model may hold at once (probe queue + runs in flight)
     * @param tapMemory  the tap buffer memory shared by every model
     * @param graphIo    the graph's input and output names: taps among them are never written into pooled buffers
     *                   (ORT hands an input through as the output, and a public output may be asked for by name)
     */
    ProbedModel(String name, ProbeSettings settings, List<ProbeSite> discovered, int maxTapSets,
                TapMemoryBudget tapMemory, Set<String> graphIo) {
        this(name, settings, discovered, Map.of(), maxTapSets, tapMemory, graphIo);
    }

    /** @param names the sites' human names ({@link dev.vigil.probes.SiteNames}); a site without one shows its tensor */
    ProbedModel(String name, ProbeSettings settings, List<ProbeSite> discovered, Map<ProbeSite, String> names,
                int maxTapSets, TapMemoryBudget tapMemory, Set<String> graphIo) {
        this(name, settings, discovered, names, maxTapSets, tapMemory, graphIo, Set.of());
    }

    /**
     * @param reductions the outputs of the in-graph reductions that the served model computes (probe strategy
     *                   {@code graph}); empty when the statistics are computed on the host
     */
    ProbedModel(String name, ProbeSettings settings, List<ProbeSite> discovered, Map<ProbeSite, String> names,
                int maxTapSets, TapMemoryBudget tapMemory, Set<String> graphIo, Set<String> reductions) {
        this.reductions = Set.copyOf(reductions);
        this.name = name;
        this.settings = settings;
        this.discovered = List.copyOf(discovered);
        this.names = Map.copyOf(names);
        this.probe = settings.enabled() ? new ModelProbe(discovered, settings) : null;
        Set<String> tensors = new LinkedHashSet<>();
        if (probe != null) {
            for (ProbeSite s : probe.sites()) {
                tensors.add(s.tensor());
            }
        }
        this.taps = Set.copyOf(tensors);
        Set<String> unpinned = new LinkedHashSet<>(tensors);
        unpinned.retainAll(graphIo);
        this.unpinnedTaps = Set.copyOf(unpinned);
        Set<String> pinnable = new LinkedHashSet<>(tensors);
        pinnable.removeAll(unpinned);
        this.pinnableTaps = Set.copyOf(pinnable);
        this.buffers = new TapBufferPool(name, OrtEnvironment.getEnvironment(), maxTapSets, tapMemory);
    }

    String name() {
        return name;
    }

    /** The in-graph reduction outputs the served model computes; empty when the host computes the statistics. */
    Set<String> reductions() {
        return reductions;
    }

    /** Whether the served model reduces the statistics in its graph (probe strategy {@code graph}). */
    boolean reducesInGraph() {
        return !reductions.isEmpty();
    }

    ProbeSettings settings() {
        return settings;
    }

    /** Every site discovery found, selected or not. */
    List<ProbeSite> discovered() {
        return discovered;
    }

    /** The human names of the sites, by site. */
    Map<ProbeSite, String> names() {
        return names;
    }

    /** The human name of a site; its tensor name when it has none. */
    String name(ProbeSite site) {
        return names.getOrDefault(site, site.tensor());
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

    /** The taps that ORT always allocates (they are graph inputs or outputs). */
    Set<String> unpinnedTaps() {
        return unpinnedTaps;
    }

    /** The taps that runs may write into reused buffers: all but {@link #unpinnedTaps()}. */
    Set<String> pinnableTaps() {
        return pinnableTaps;
    }

    /** The reusable buffers the model's taps are written into. */
    TapBufferPool buffers() {
        return buffers;
    }

    /** The shadow int8 state; null when the model is not shadowed. */
    ShadowedModel shadow() {
        return shadow;
    }

    /** The {@code probe.shadow} settings. */
    ShadowSettings shadowSettings() {
        return shadowSettings;
    }

    /** Sets the shadow int8 settings and state (null when not shadowed), before the model is published. */
    void shadow(ShadowSettings settings, ShadowedModel shadowed) {
        this.shadowSettings = settings;
        this.shadow = shadowed;
    }

    long dropped() {
        return dropped.get();
    }

    void drop() {
        dropped.incrementAndGet();
    }
}
