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

/**
 * Finds the probe sites of SPEC §3 in an ONNX graph: {@code attention}, {@code mlp}, {@code residual} and
 * {@code matmul_input}. Only the top-level graph is searched (nodes inside If/Loop/Scan bodies are ignored), and
 * only tensors that can be float32 are sites (a tensor the graph declares with another elem type is skipped).
 * See docs/PROBE_SITES.md for the patterns and the choices made where SPEC is silent.
 */
public final class SiteDiscovery {
    /** How many nodes an activation's result may pass through (gate Mul, Dropout, Cast) before a MatMul/Gemm. */
    private static final int MAX_HOPS = 4;

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

    /** Softmax outputs that are, possibly through Dropout/Cast/Identity, the left operand of a MatMul. */
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

    /** Activation outputs whose result reaches a MatMul/Gemm directly or through a gate Mul, Dropout or Cast. */
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
     * True when {@code tensor} is an operand of a MatMul/Gemm (only the left operand when {@code leftOnly}), directly
     * or through at most {@link #MAX_HOPS} pass-through nodes: Dropout, Cast, Identity, and for activations a Mul.
     */
    private boolean reachesMatMul(String tensor, boolean leftOnly) {
        Deque<String> frontier = new ArrayDeque<>();
        frontier.add(tensor);
        for (int hop = 0; hop <= MAX_HOPS && !frontier.isEmpty(); hop++) {
            Deque<String> next = new ArrayDeque<>();
            for (String t : frontier) {
                for (GraphIndex.Use use : g.uses(t)) {
                    NodeProto n = g.node(use.node());
                    switch (n.getOpType()) {
                        case "MatMul", "Gemm" -> {
                            if (use.slot() == 0 || (!leftOnly && use.slot() == 1)) {
                                return true;
                            }
                        }
                        case "Dropout", "Cast", "Identity" -> next.add(out(n, 0));
                        case "Mul" -> {
                            if (!leftOnly) {
                                next.add(out(n, 0));
                            }
                        }
                        default -> {
                        }
                    }
                }
            }
            frontier = next;
        }
        return false;
    }

    /** The non-constant operand of each MatMul/Gemm whose other operand is constant (a weight). */
    private List<PatternMatch> matmulInputs() {
        List<PatternMatch> found = new ArrayList<>();
        for (int i = 0; i < g.nodeCount(); i++) {
            NodeProto n = g.node(i);
            if (!(n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) || n.getInputCount() < 2) {
                continue;
            }
            String a = in(n, 0);
            String b = in(n, 1);
            boolean aConst = g.isConstant(a);
            boolean bConst = g.isConstant(b);
            if (bConst && !aConst) {
                found.add(new PatternMatch(a, i, n.getOpType()));
            } else if (aConst && !bConst) {
                found.add(new PatternMatch(b, i, n.getOpType()));
            }
        }
        return found;
    }
}
