package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The statistics kept for one site: which ones depend on its kind (SPEC §5). The {@link QuantRangeStat} is shared by
 * the sites of one tensor (an activation output that is both an {@code mlp} and a {@code matmul_input} site), so the
 * owner updates each quant stat once per request. Used by one thread.
 */
final class SiteStats {
    final ProbeSite site;
    final DeadNeuronStat dead;
    final MassiveActivationStat massive;
    final TokenCosineStat cosine;
    final AttentionStat attention;
    final QuantRangeStat quant;
    /** Whether {@link #quant} hands its copied rows to {@link #dead}, which then reads no tap of its own. */
    private final boolean deadFedByQuant;
    private List<Long> observedShape = List.of();

    SiteStats(ProbeSite site, ProbeSettings settings, Map<String, QuantRangeStat> quantByTensor) {
        this.site = site;
        SiteKind kind = site.kind();
        dead = kind == SiteKind.MLP ? new DeadNeuronStat(settings.dormantTau()) : null;
        boolean residual = kind == SiteKind.RESIDUAL;
        massive = residual
                ? new MassiveActivationStat(settings.massiveAbsThreshold(), settings.massiveMedianRatio()) : null;
        cosine = residual ? new TokenCosineStat() : null;
        attention = kind == SiteKind.ATTENTION ? new AttentionStat(settings.sinkEpsilon(), declaredHeads(site)) : null;
        quant = kind == SiteKind.ATTENTION ? null
                : quantByTensor.computeIfAbsent(site.tensor(), t -> new QuantRangeStat(settings.outlierThreshold()));
        deadFedByQuant = dead != null && quant.feed(dead);
    }

    /** The head count a rank-4 {@code [B,H,Tq,Tk]} attention site declares as a number; 0 when it does not. */
    private static int declaredHeads(ProbeSite site) {
        List<String> shape = site.shape();
        if (shape.size() != 4) {
            return 0;
        }
        try {
            return Math.max(0, Integer.parseInt(shape.get(1)));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Validates the tensor's layout for this site without touching any state; returns it for {@link #observe}. */
    TensorLayout layout(TapTensor t, ProbedBatch request) {
        return attention != null ? AttentionStat.layout(site.tensor(), t, request)
                : RowLayout.of(site.tensor(), t, request);
    }

    /**
     * Updates every statistic except the (shared) quant stat, which the caller updates once per tensor (and which
     * updates the dead-neuron statistic it feeds).
     */
    void observe(TapTensor t, TensorLayout layout, ProbedBatch request) {
        if (attention != null) {
            attention.observe(t, (AttentionLayout) layout, request);
        } else {
            RowLayout rows = (RowLayout) layout;
            if (dead != null && !deadFedByQuant) {
                dead.observe(t, rows);
            }
            if (massive != null) {
                // the token cosine takes the rows as the massive statistic reads them
                massive.observe(t, rows, cosine);
            } else if (cosine != null) {
                cosine.observe(t, rows);
            }
        }
        List<Long> shape = new ArrayList<>();
        for (long d : t.shape()) {
            shape.add(d);
        }
        observedShape = List.copyOf(shape);
    }

    /** The current window's gauges, without the counters (they are attached when a snapshot is published). */
    SiteSnapshot gauges() {
        return new SiteSnapshot(site, observedShape, dead == null ? null : dead.snapshot(),
                massive == null ? null : massive.snapshot(), attention == null ? null : attention.snapshot(),
                cosine == null ? null : cosine.snapshot(), quant == null ? null : quant.snapshot());
    }

    /** The current window's gauges with the cumulative counters. */
    SiteSnapshot snapshot() {
        return withCounters(gauges());
    }

    /** {@code gauges} (of this site's current or closed window) with this site's cumulative counters as of now. */
    SiteSnapshot withCounters(SiteSnapshot gauges) {
        SiteCounters counters = new SiteCounters(attention == null ? null : attention.counters(),
                cosine == null ? null : cosine.counters(), massive == null ? 0 : massive.firstTokenTotal(),
                quant == null ? null : quant.counters());
        MassiveSnapshot m = massive == null ? null : massive.countersOnto(gauges.massive());
        return new SiteSnapshot(site, observedShape, gauges.dead(), m, gauges.attention(), gauges.cosine(),
                gauges.quant(), counters);
    }

    /** Clears the window accumulators (the shared quant stat is the caller's). */
    void resetWindow() {
        if (dead != null) {
            dead.reset();
        }
        if (massive != null) {
            massive.resetWindow();
        }
        if (cosine != null) {
            cosine.reset();
        }
        if (attention != null) {
            attention.reset();
        }
    }

    /** This site's reduction outputs in {@code batch}, checked; null when the batch has none. */
    ReducedSite reduced(ReducedBatch batch) {
        return attention != null ? ReducedAttention.of(site.tensor(), batch)
                : ReducedRows.of(site.tensor(), site.kind(), batch);
    }

    /** {@link #observe} for a request reduced in the graph; the caller updates the (shared) quant stat. */
    void observeReduced(ReducedSite reduced, ReducedBatch request) {
        if (reduced instanceof ReducedAttention a) {
            attention.observeReduced(a, request);
        } else {
            ReducedRows rows = (ReducedRows) reduced;
            if (dead != null) {
                dead.observeReduced(rows.channelMax(), rows.absSum(), rows.realRows());
            }
            if (massive != null) {
                massive.observeReduced(rows);
            }
            if (cosine != null) {
                cosine.observeReduced(rows.cosine(), rows.batch());
            }
        }
        List<Long> shape = new ArrayList<>();
        for (long d : reduced.shape()) {
            shape.add(d);
        }
        observedShape = List.copyOf(shape);
    }
}
