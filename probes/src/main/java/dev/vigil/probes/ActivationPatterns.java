package dev.vigil.probes;

import static dev.vigil.probes.GraphIndex.in;
import static dev.vigil.probes.GraphIndex.out;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * Finds MLP activation functions, as single ops (Relu, Gelu, FastGelu, BiasGelu, QuickGelu) or as the decomposed
 * patterns exporters write: Erf-GELU {@code 0.5·x·(1+erf(x/√2))}, tanh-GELU
 * {@code 0.5·x·(1+tanh(√(2/π)·(x+0.044715·x³)))} and SiLU/Swish {@code x·sigmoid(β·x)}. Each match is the
 * activation's output tensor and the pattern's last node. Whether the result reaches a MatMul is not checked here.
 */
final class ActivationPatterns {
    private static final double SQRT_2 = Math.sqrt(2.0);
    private static final double INV_SQRT_2 = 1.0 / Math.sqrt(2.0);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double TANH_GELU_CUBIC = 0.044715;
    private static final double QUICK_GELU_BETA = 1.702;

    private final GraphIndex g;

    private ActivationPatterns(GraphIndex g) {
        this.g = g;
    }

    static List<PatternMatch> find(GraphIndex g) {
        return new ActivationPatterns(g).findAll();
    }

    private List<PatternMatch> findAll() {
        List<PatternMatch> found = new ArrayList<>();
        for (int i = 0; i < g.nodeCount(); i++) {
            NodeProto n = g.node(i);
            PatternMatch m = switch (n.getOpType()) {
                case "Relu", "Gelu", "FastGelu", "BiasGelu", "QuickGelu" ->
                        new PatternMatch(out(n, 0), i, n.getOpType());
                case "Erf" -> erfGelu(n);
                case "Tanh" -> tanhGelu(n);
                case "Sigmoid" -> swish(n);
                default -> null;
            };
            if (m != null) {
                found.add(m);
            }
        }
        return found;
    }

    /** {@code erf(x/√2)} or {@code erf(x·(1/√2))}, then {@code +1}, then a product with x and 0.5 in any order. */
    private PatternMatch erfGelu(NodeProto erf) {
        NodeProto scale = g.producer(in(erf, 0));
        if (scale == null) {
            return null;
        }
        String x = null;
        if (scale.getOpType().equals("Div") && g.isScalar(in(scale, 1), SQRT_2)) {
            x = in(scale, 0);
        } else if (scale.getOpType().equals("Mul")) {
            x = operandBeside(scale, INV_SQRT_2);
        }
        if (x == null) {
            return null;
        }
        return halfProduct(x, plusOne(out(erf, 0)), "Erf-GELU");
    }

    /** {@code tanh(√(2/π)·(x + 0.044715·x³))} with x³ as Pow(x,3) or a Mul chain, then as Erf-GELU. */
    private PatternMatch tanhGelu(NodeProto tanh) {
        NodeProto scale = g.producer(in(tanh, 0));
        if (scale == null || !scale.getOpType().equals("Mul")) {
            return null;
        }
        String inner = operandBeside(scale, SQRT_2_OVER_PI);
        NodeProto sum = inner == null ? null : g.producer(inner);
        if (sum == null || !sum.getOpType().equals("Add") || sum.getInputCount() != 2) {
            return null;
        }
        for (int k = 0; k < 2; k++) {
            String x = in(sum, k);
            if (isCubicTerm(in(sum, 1 - k), x)) {
                return halfProduct(x, plusOne(out(tanh, 0)), "tanh-GELU");
            }
        }
        return null;
    }

    private boolean isCubicTerm(String term, String x) {
        NodeProto mul = g.producer(term);
        if (mul == null || !mul.getOpType().equals("Mul")) {
            return false;
        }
        String cube = operandBeside(mul, TANH_GELU_CUBIC);
        if (cube == null) {
            return false;
        }
        NodeProto p = g.producer(cube);
        if (p != null && p.getOpType().equals("Pow")) {
            return in(p, 0).equals(x) && g.isScalar(in(p, 1), 3.0);
        }
        List<String> leaves = new ArrayList<>();
        mulLeaves(cube, x, null, leaves, 0);
        return leaves.size() == 3 && leaves.stream().allMatch(x::equals);
    }

    /**
     * {@code x·sigmoid(x)} (SiLU) or {@code x·sigmoid(β·x)} (QuickGelu when β = 1.702, else Swish); the Mul's
     * operands in either order.
     */
    private PatternMatch swish(NodeProto sigmoid) {
        String y = in(sigmoid, 0);
        String scaled = null;
        double beta = 1.0;
        NodeProto p = g.producer(y);
        if (p != null && p.getOpType().equals("Mul")) {
            for (int k = 0; k < 2 && scaled == null; k++) {
                OptionalDouble c = g.scalar(in(p, 1 - k));
                if (c.isPresent()) {
                    scaled = in(p, k);
                    beta = c.getAsDouble();
                }
            }
        }
        String s = out(sigmoid, 0);
        for (GraphIndex.Use use : g.uses(s)) {
            NodeProto mul = g.node(use.node());
            if (!mul.getOpType().equals("Mul") || mul.getInputCount() != 2) {
                continue;
            }
            String other = in(mul, 1 - use.slot());
            if (other.equals(y)) {
                return new PatternMatch(out(mul, 0), use.node(), "SiLU");
            }
            if (other.equals(scaled)) {
                String name = Math.abs(beta - QUICK_GELU_BETA) <= 1e-3 * QUICK_GELU_BETA ? "QuickGelu" : "Swish";
                return new PatternMatch(out(mul, 0), use.node(), name);
            }
        }
        return null;
    }

    /** The output of the Add that adds the constant 1 to {@code t}, or null. */
    private String plusOne(String t) {
        for (GraphIndex.Use use : g.uses(t)) {
            NodeProto add = g.node(use.node());
            if (add.getOpType().equals("Add") && add.getInputCount() == 2
                    && g.isScalar(in(add, 1 - use.slot()), 1.0)) {
                return out(add, 0);
            }
        }
        return null;
    }

    /**
     * The Mul (one or two Muls after {@code s}) whose result is the product {@code x · s · 0.5}, whatever the
     * association and operand order; null if there is none.
     */
    private PatternMatch halfProduct(String x, String s, String pattern) {
        if (s == null) {
            return null;
        }
        List<GraphIndex.Use> frontier = new ArrayList<>(g.uses(s));
        for (int level = 0; level < 2; level++) {
            List<GraphIndex.Use> next = new ArrayList<>();
            for (GraphIndex.Use use : frontier) {
                NodeProto mul = g.node(use.node());
                if (!mul.getOpType().equals("Mul")) {
                    continue;
                }
                String product = out(mul, 0);
                if (isHalfProduct(product, x, s)) {
                    return new PatternMatch(product, use.node(), pattern);
                }
                next.addAll(g.uses(product));
            }
            frontier = next;
        }
        return null;
    }

    private boolean isHalfProduct(String product, String x, String s) {
        List<String> leaves = new ArrayList<>();
        mulLeaves(product, x, s, leaves, 0);
        if (leaves.size() != 3) {
            return false;
        }
        int xs = 0;
        int ss = 0;
        int halves = 0;
        for (String leaf : leaves) {
            if (leaf.equals(x)) {
                xs++;
            } else if (leaf.equals(s)) {
                ss++;
            } else if (g.isScalar(leaf, 0.5)) {
                halves++;
            }
        }
        return xs == 1 && ss == 1 && halves == 1;
    }

    /** The factors of a product of Muls, expanded down to {@code x}, {@code s}, constants and non-Mul tensors. */
    private void mulLeaves(String t, String x, String s, List<String> leaves, int depth) {
        NodeProto p = g.producer(t);
        if (t.equals(x) || t.equals(s) || depth >= 3 || p == null || !p.getOpType().equals("Mul")
                || g.isConstant(t)) {
            leaves.add(t);
            return;
        }
        for (String in : p.getInputList()) {
            mulLeaves(in, x, s, leaves, depth + 1);
        }
    }

    /** For a two-input op with a scalar constant ≈ {@code c} on one side, the other operand; else null. */
    private String operandBeside(NodeProto binary, double c) {
        if (binary.getInputCount() != 2) {
            return null;
        }
        if (g.isScalar(in(binary, 1), c)) {
            return in(binary, 0);
        }
        if (g.isScalar(in(binary, 0), c)) {
            return in(binary, 1);
        }
        return null;
    }
}
