package dev.vigil.probes;

import static dev.vigil.probes.GraphIndex.in;
import static dev.vigil.probes.GraphIndex.out;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the probe sites of SPEC §3 in an ONNX graph: {@code attention}, {@code mlp}, {@code residual} and
 * {@code matmul_input}. Only the top-level graph is searched (nodes inside If/Loop/Scan bodies are ignored), and
 * only tensors that can be float32 are sites (a tensor the graph declares with another elem type is skipped).
 * See docs/PROBE_SITES.md for the patterns and the choices made where SPEC is silent.
 */
public final class SiteDiscovery {
    /** How many nodes an activation's result may pass through (gate Mul, Dropout, Cast) before a MatMul/Gemm. */
    private static final int MAX_HOPS = 4;
    /** Nodes whose output 0 carries their input 0's values on to a MatMul (up to dropout, casting or rounding). */
    private static final Set<String> PASS_THROUGH = Set.of("Dropout", "Cast", "Identity", "QuantizeLinear",
            "DequantizeLinear", "DynamicQuantizeLinear");

    private final GraphIndex g;

    private SiteDiscovery(GraphIndex g) {
        this.g = g;
    }

    /**
     * The probe sites of {@code model}, grouped by kind (in {@link SiteKind} order) and, within a kind, by layer.
     * A tensor appears once per kind; it may be a site of two kinds (an {@code mlp} output feeding a weight MatMul
     * is also a {@code matmul_input}).
     */
    public static List<ProbeSite> discover(ModelProto model) {
        if (model == null || !model.hasGraph()) {
            throw new IllegalArgumentException("the model has no graph");
        }
        return new SiteDiscovery(new GraphIndex(model.getGraph())).sites();
    }

    private List<ProbeSite> sites() {
        Map<SiteKind, List<PatternMatch>> byKind = new EnumMap<>(SiteKind.class);
        byKind.put(SiteKind.ATTENTION, attention());
        byKind.put(SiteKind.MLP, mlp());
        byKind.put(SiteKind.RESIDUAL, NormalizationPatterns.find(g));
        byKind.put(SiteKind.MATMUL_INPUT, matmulInputs());
        List<ProbeSite> sites = new ArrayList<>();
        for (Map.Entry<SiteKind, List<PatternMatch>> e : byKind.entrySet()) {
            // One site per tensor, defined by its first node; then the layer ordinal in node order.
            Map<String, PatternMatch> first = new LinkedHashMap<>();
            for (PatternMatch m : e.getValue()) {
                if (!m.tensor().isEmpty() && isTappable(m.tensor())) {
                    first.merge(m.tensor(), m, (a, b) -> a.node() <= b.node() ? a : b);
                }
            }
            List<PatternMatch> ordered = new ArrayList<>(first.values());
            ordered.sort(Comparator.comparingInt(PatternMatch::node));
            for (int layer = 0; layer < ordered.size(); layer++) {
                PatternMatch m = ordered.get(layer);
                sites.add(new ProbeSite(e.getKey(), layer, m.tensor(), g.shape(m.tensor()), m.pattern()));
            }
        }
        return sites;
    }

    /** Float32 or of unknown type: a tensor the graph declares as another type cannot be read as floats. */
    private boolean isTappable(String tensor) {
        int type = g.elemType(tensor);
        return type == 0 || type == TensorProto.DataType.FLOAT_VALUE;
    }

    /** Softmax outputs that are, possibly through Dropout/Cast/Identity or Q/DQ, the left operand of a MatMul. */
    private List<PatternMatch> attention() {
        List<PatternMatch> found = new ArrayList<>();
        for (int i = 0; i < g.nodeCount(); i++) {
            NodeProto n = g.node(i);
            if (!n.getOpType().equals("Softmax")) {
                continue;
            }
            String p = out(n, 0);
            int rank = g.shape(p).size();
            // A declared rank other than [B,H,Tq,Tk] / [B*H,Tq,Tk] is not attention probabilities.
            if ((rank == 0 || rank == 3 || rank == 4) && reachesMatMul(p, true)) {
                found.add(new PatternMatch(p, i, "Softmax->MatMul"));
            }
        }
        return found;
    }

    /** Activation outputs that reach a (possibly quantized) MatMul/Gemm directly or through pass-through nodes. */
    private List<PatternMatch> mlp() {
        List<PatternMatch> found = new ArrayList<>();
        for (PatternMatch m : ActivationPatterns.find(g)) {
            if (reachesMatMul(m.tensor(), false)) {
                found.add(m);
            }
        }
        return found;
    }

    /**
     * True when {@code tensor} is an operand of a MatMul/Gemm or a quantized MatMul (MatMulInteger, QLinearMatMul;
     * only the left operand when {@code leftOnly}), directly or through at most {@link #MAX_HOPS} pass-through nodes:
     * Dropout, Cast, Identity, the quantization ops (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear), and
     * for activations a Mul.
     */
    private boolean reachesMatMul(String tensor, boolean leftOnly) {
        Deque<String> frontier = new ArrayDeque<>();
        frontier.add(tensor);
        for (int hop = 0; hop <= MAX_HOPS && !frontier.isEmpty(); hop++) {
            Deque<String> next = new ArrayDeque<>();
            for (String t : frontier) {
                for (GraphIndex.Use use : g.uses(t)) {
                    NodeProto n = g.node(use.node());
                    int right = rightOperandSlot(n.getOpType());
                    if (right > 0) {
                        if (use.slot() == 0 || (!leftOnly && use.slot() == right)) {
                            return true;
                        }
                    } else if (PASS_THROUGH.contains(n.getOpType()) && use.slot() == 0) {
                        next.add(out(n, 0));
                    } else if (n.getOpType().equals("Mul") && !leftOnly) {
                        next.add(out(n, 0));
                    }
                }
            }
            frontier = next;
        }
        return false;
    }

    /** The input slot of a matrix product's right operand (its left is slot 0), or -1 for other ops. */
    private static int rightOperandSlot(String op) {
        return switch (op) {
            case "MatMul", "Gemm", "MatMulInteger" -> 1;
            case "QLinearMatMul" -> 3;
            default -> -1;
        };
    }

    /**
     * The non-constant operand of each MatMul/Gemm whose other operand is constant (a weight), seen through
     * quantization (SPEC §3): for MatMulInteger and QLinearMatMul, and for a MatMul fed by a
     * QuantizeLinear→DequantizeLinear pair, the site is the float tensor that enters the quantization.
     */
    private List<PatternMatch> matmulInputs() {
        List<PatternMatch> found = new ArrayList<>();
        for (int i = 0; i < g.nodeCount(); i++) {
            NodeProto n = g.node(i);
            String op = n.getOpType();
            int right = rightOperandSlot(op);
            if (right < 0 || n.getInputCount() <= right) {
                continue;
            }
            String a = in(n, 0);
            String b = in(n, right);
            boolean aConst = g.isConstant(a);
            boolean bConst = g.isConstant(b);
            String operand = bConst && !aConst ? a : aConst && !bConst ? b : null;
            if (operand == null) {
                continue;
            }
            String source = floatSource(operand);
            String pattern = op.equals("MatMul") || op.equals("Gemm")
                    ? (source.equals(operand) ? op : op + "(QDQ)") : op;
            found.add(new PatternMatch(source, i, pattern));
        }
        return found;
    }

    /**
     * The float tensor behind a quantized operand: the input of the DynamicQuantizeLinear or QuantizeLinear that
     * produced it, or of the QuantizeLinear behind its DequantizeLinear; the operand itself otherwise.
     */
    private String floatSource(String operand) {
        NodeProto p = g.producer(operand);
        if (p == null) {
            return operand;
        }
        switch (p.getOpType()) {
            case "DynamicQuantizeLinear", "QuantizeLinear" -> {
                return out(p, 0).equals(operand) ? in(p, 0) : operand;
            }
            case "DequantizeLinear" -> {
                NodeProto q = g.producer(in(p, 0));
                return q != null && q.getOpType().equals("QuantizeLinear") ? in(q, 0) : operand;
            }
            default -> {
                return operand;
            }
        }
    }
}
