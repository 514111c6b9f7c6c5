package dev.vigil.probes;

import static dev.vigil.probes.GraphIndex.in;
import static dev.vigil.probes.GraphIndex.out;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds normalizations and the residual tensor each one reads: the fused ops (LayerNormalization,
 * SimplifiedLayerNormalization, RMSNormalization, SkipLayerNormalization, SkipSimplifiedLayerNormalization) and
 * the decomposed patterns, LayerNorm {@code ReduceMean → Sub → Pow/Mul → ReduceMean → Add → Sqrt → Div} and
 * RMSNorm {@code Pow/Mul → ReduceMean → Add → Sqrt → Div or Reciprocal → Mul}.
 */
final class NormalizationPatterns {
    /** Suffix of the name given to a Skip*LayerNormalization's sum output when the graph leaves it unnamed. */
    static final String SKIP_SUM_SUFFIX = "/vigil_skip_sum";

    private final GraphIndex g;
    /** The squaring nodes that belong to a decomposed LayerNorm, so that its variance branch is not an RMSNorm. */
    private final Set<Integer> layerNormSquares = new HashSet<>();

    private NormalizationPatterns(GraphIndex g) {
        this.g = g;
    }

    static List<PatternMatch> find(GraphIndex g) {
        return new NormalizationPatterns(g).findAll();
    }

    /** True for the fused ops whose residual sum is their output 3. */
    static boolean isSkipNorm(NodeProto n) {
        return n.getOpType().equals("SkipLayerNormalization")
                || n.getOpType().equals("SkipSimplifiedLayerNormalization");
    }

    /**
     * The tensor that holds a Skip*LayerNormalization's sum {@code input + skip (+ bias)}: its output 3, or, when
     * the graph leaves that optional output out, the name {@link GraphTaps} gives it when tapping.
     */
    static String skipSumTensor(NodeProto n) {
        if (!out(n, 3).isEmpty()) {
            return out(n, 3);
        }
        return out(n, 0).isEmpty() ? "" : out(n, 0) + SKIP_SUM_SUFFIX;
    }

    private List<PatternMatch> findAll() {
        List<PatternMatch> found = new ArrayList<>();
        for (int i = 0; i < g.nodeCount(); i++) {
            NodeProto n = g.node(i);
            switch (n.getOpType()) {
                case "LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization" ->
                        found.add(new PatternMatch(in(n, 0), i, n.getOpType()));
                case "SkipLayerNormalization", "SkipSimplifiedLayerNormalization" ->
                        found.add(new PatternMatch(skipSumTensor(n), i, n.getOpType()));
                case "ReduceMean" -> {
                    PatternMatch m = decomposedLayerNorm(i, n);
                    if (m != null) {
                        found.add(m);
                    }
                }
                default -> {
                }
            }
        }
        // RMSNorm after all LayerNorms are known: a LayerNorm's variance branch has the RMSNorm shape too.
        for (int i = 0; i < g.nodeCount(); i++) {
            if (!layerNormSquares.contains(i)) {
                String x = squaredTensor(g.node(i));
                if (x != null && normalizedBy(g.node(i).getOutput(0), x)) {
                    found.add(new PatternMatch(x, i, "RMSNorm(decomposed)"));
                }
            }
        }
        return found;
    }

    /** {@code ReduceMean(x) → Sub(x, mean) = d}, then {@code d²} normalized as in {@link #normalizedBy}. */
    private PatternMatch decomposedLayerNorm(int index, NodeProto mean) {
        String x = in(mean, 0);
        for (GraphIndex.Use use : g.uses(out(mean, 0))) {
            NodeProto sub = g.node(use.node());
            if (!sub.getOpType().equals("Sub") || use.slot() != 1 || !in(sub, 0).equals(x)) {
                continue;
            }
            String d = out(sub, 0);
            for (GraphIndex.Use du : g.uses(d)) {
                NodeProto sq = g.node(du.node());
                if (d.equals(squaredTensor(sq)) && normalizedBy(out(sq, 0), d)) {
                    layerNormSquares.add(du.node());
                    return new PatternMatch(x, index, "LayerNorm(decomposed)");
                }
            }
        }
        return null;
    }

    /** The tensor that {@code n} squares ({@code Pow(t, 2)} or {@code Mul(t, t)}), or null. */
    private String squaredTensor(NodeProto n) {
        if (n.getInputCount() != 2) {
            return null;
        }
        if (n.getOpType().equals("Pow") && g.isScalar(in(n, 1), 2.0)) {
            return in(n, 0);
        }
        if (n.getOpType().equals("Mul") && in(n, 0).equals(in(n, 1))) {
            return in(n, 0);
        }
        return null;
    }

    /**
     * True when {@code squared} goes {@code ReduceMean → Add(eps) → Sqrt} and {@code numerator} is divided by that
     * root: {@code Div(numerator, root)}, or {@code Mul(numerator, r)} with r = {@code Reciprocal(root)} or
     * {@code Div(1, root)}.
     */
    private boolean normalizedBy(String squared, String numerator) {
        for (String mean : outputsOf(squared, "ReduceMean")) {
            for (GraphIndex.Use au : g.uses(mean)) {
                NodeProto add = g.node(au.node());
                if (!add.getOpType().equals("Add") || add.getInputCount() != 2
                        || !g.isConstant(in(add, 1 - au.slot()))) {
                    continue;
                }
                for (String root : outputsOf(out(add, 0), "Sqrt")) {
                    if (dividesBy(numerator, root)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private boolean dividesBy(String numerator, String root) {
        for (GraphIndex.Use use : g.uses(root)) {
            NodeProto n = g.node(use.node());
            if (n.getOpType().equals("Div") && use.slot() == 1) {
                if (in(n, 0).equals(numerator)) {
                    return true;
                }
                if (g.isScalar(in(n, 0), 1.0) && multipliedWith(out(n, 0), numerator)) {
                    return true;
                }
            } else if (n.getOpType().equals("Reciprocal") && multipliedWith(out(n, 0), numerator)) {
                return true;
            }
        }
        return false;
    }

    private boolean multipliedWith(String t, String other) {
        for (GraphIndex.Use use : g.uses(t)) {
            NodeProto n = g.node(use.node());
            if (n.getOpType().equals("Mul") && n.getInputCount() == 2 && in(n, 1 - use.slot()).equals(other)) {
                return true;
            }
        }
        return false;
    }

    private List<String> outputsOf(String t, String opType) {
        List<String> outs = new ArrayList<>();
        for (GraphIndex.Use use : g.uses(t)) {
            NodeProto n = g.node(use.node());
            if (n.getOpType().equals(opType)) {
                outs.add(out(n, 0));
            }
        }
        return outs;
    }
}
