package dev.vigil.probes;

import static dev.vigil.probes.GraphIndex.in;
import static dev.vigil.probes.GraphIndex.out;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Human names for probe sites, e.g. {@code "block 2 · attention output LayerNorm in"}, so that a user sees where a
 * site is rather than its ordinal. The name comes from the graph node the site belongs to: the normalization a
 * {@code residual} tensor feeds, the weight MatMul(s) a {@code matmul_input} feeds, the Softmax of an
 * {@code attention} site, the activation of an {@code mlp} site. That node's scope is read from its name when the
 * exporter wrote a meaningful one (PyTorch/HF {@code /encoder/layer.2/attention/output/LayerNorm/ReduceMean}, or a
 * hand-written {@code ln1}), else from its weight's or output's tensor name ({@code layer0.mlp_norm.out}). A
 * component like {@code layer.2}, {@code layers.2}, {@code layer2}, {@code h.2} or {@code block_2} becomes
 * "block 2"; wrappers ({@code encoder}, {@code model}, ...) are dropped; the rest are the words of the name.
 */
public final class SiteNames {
    /** Separates the block from the rest of the name. */
    public static final String SEPARATOR = " · ";
    private static final Pattern BLOCK = Pattern.compile("(?i)(?:layers?|blocks?|h)[._-]?(\\d+)");
    private static final Set<String> BLOCK_WORDS = Set.of("layer", "layers", "block", "blocks", "h");
    private static final Set<String> WRAPPERS = Set.of("encoder", "decoder", "model", "transformer", "bert",
            "roberta", "gpt_neox", "base_model");
    /** Last components of an output tensor's name that say nothing about where it is. */
    private static final Set<String> SUFFIXES = Set.of("out", "output", "matmul", "probs", "probabilities", "softmax",
            "y");
    private static final Set<String> WEIGHT_SUFFIXES = Set.of("weight");
    private static final Set<String> NORMALIZATIONS = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
            "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "RMSNormalization", "GroupNormalization",
            "ReduceMean", "Pow");

    private final GraphIndex g;

    private SiteNames(GraphIndex g) {
        this.g = g;
    }

    /** The name of every site of {@code sites} (discovered in {@code model}), keyed by the site. */
    public static Map<ProbeSite, String> of(ModelProto model, List<ProbeSite> sites) {
        SiteNames names = new SiteNames(new GraphIndex(model.getGraph()));
        Map<ProbeSite, String> out = new LinkedHashMap<>();
        for (ProbeSite s : sites) {
            out.put(s, names.name(s));
        }
        return out;
    }

    private String name(ProbeSite site) {
        List<List<String>> scopes = new ArrayList<>();
        String suffix;
        switch (site.kind()) {
            case RESIDUAL -> {
                NodeProto norm = normalization(site.tensor());
                if (norm != null) {
                    scopes.add(scope(norm, out(norm, 0), SUFFIXES));
                }
                suffix = "in";
            }
            case MATMUL_INPUT -> {
                for (NodeProto n : weightMatMuls(site.tensor())) {
                    String weight = n.getOpType().equals("QLinearMatMul") ? in(n, 3) : in(n, 1);
                    boolean named = weight.toLowerCase().endsWith("weight");
                    scopes.add(scope(n, named ? weight : out(n, 0), named ? WEIGHT_SUFFIXES : SUFFIXES));
                }
                suffix = "in";
            }
            case ATTENTION -> {
                NodeProto softmax = g.producer(site.tensor());
                if (softmax != null) {
                    scopes.add(scope(softmax, site.tensor(), SUFFIXES));
                }
                suffix = "softmax";
            }
            case MLP -> {
                NodeProto act = g.producer(site.tensor());
                if (act != null) {
                    List<String> s = new ArrayList<>(scope(act, site.tensor(), SUFFIXES));
                    while (!s.isEmpty() && isActivationWord(s.get(s.size() - 1))) {
                        s.remove(s.size() - 1);
                    }
                    scopes.add(s);
                }
                suffix = activation(site.pattern());
            }
            default -> throw new IllegalStateException("unknown kind " + site.kind());
        }
        if (scopes.isEmpty()) {
            scopes.add(components(site.tensor()));
        }
        return format(merge(scopes), suffix);
    }

    /**
     * The MatMul/Gemm nodes that take {@code tensor} against a constant weight, directly or through the
     * quantization nodes of an int8 graph (the MatMulInteger / QLinearMatMul after a (Dynamic)QuantizeLinear).
     */
    private List<NodeProto> weightMatMuls(String tensor) {
        List<NodeProto> found = new ArrayList<>();
        List<String> frontier = List.of(tensor);
        for (int hop = 0; hop < 3 && !frontier.isEmpty(); hop++) {
            List<String> next = new ArrayList<>();
            for (String t : frontier) {
                for (GraphIndex.Use use : g.uses(t)) {
                    NodeProto n = g.node(use.node());
                    switch (n.getOpType()) {
                        case "MatMul", "Gemm" -> {
                            if (use.slot() <= 1 && g.isConstant(in(n, 1 - use.slot()))) {
                                found.add(n);
                            }
                        }
                        case "MatMulInteger", "QLinearMatMul" -> found.add(n);
                        case "DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "Cast" -> {
                            if (use.slot() == 0) {
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
        return found;
    }

    /** The normalization node a residual tensor feeds (the first node of a decomposed one); null when none. */
    private NodeProto normalization(String tensor) {
        NodeProto any = null;
        for (GraphIndex.Use use : g.uses(tensor)) {
            NodeProto n = g.node(use.node());
            if (NORMALIZATIONS.contains(n.getOpType())) {
                return n;
            }
            if (any == null && !n.getOpType().equals("Add") && !n.getOpType().equals("MatMul")) {
                any = n;
            }
        }
        return any;
    }

    /**
     * The scope of a node as name components: its own name without the last (op instance) component when the
     * exporter named it by scope; the name itself when hand-written; else {@code fallback} (a tensor name) without
     * its generic last components ({@code suffixes}, e.g. {@code out}).
     */
    private static List<String> scope(NodeProto n, String fallback, Set<String> suffixes) {
        String name = n.getName();
        if (!name.isEmpty() && !generic(name, n.getOpType())) {
            if (name.indexOf('/') >= 0) {
                List<String> parts = components(name);
                return parts.isEmpty() ? parts : parts.subList(0, parts.size() - 1);
            }
            return List.of(name);
        }
        List<String> parts = new ArrayList<>(components(fallback));
        while (parts.size() > 1 && suffixes.contains(parts.get(parts.size() - 1).toLowerCase())) {
            parts.remove(parts.size() - 1);
        }
        return parts;
    }

    /** Whether a node name says nothing but its op: {@code MatMul_21}, {@code node_Softmax_3}, {@code Gemm}. */
    private static boolean generic(String name, String op) {
        return name.matches("(?i)(node_)?" + Pattern.quote(op) + "(_\\d+)?");
    }

    /** A name split at '/' and '.', a block word joined to the number after it ({@code layers}, {@code 2}). */
    private static List<String> components(String name) {
        List<String> parts = new ArrayList<>();
        for (String p : name.split("[/.]")) {
            if (p.isEmpty()) {
                continue;
            }
            int last = parts.size() - 1;
            if (p.matches("\\d+") && last >= 0 && BLOCK_WORDS.contains(parts.get(last).toLowerCase())) {
                parts.set(last, parts.get(last) + "." + p);
            } else {
                parts.add(p);
            }
        }
        return parts;
    }

    /** One scope from several (Q, K and V MatMuls): the common prefix, then the differing parts joined by '/'. */
    private static List<String> merge(List<List<String>> scopes) {
        if (scopes.size() == 1) {
            return scopes.get(0);
        }
        int common = 0;
        outer:
        while (true) {
            for (List<String> s : scopes) {
                if (s.size() <= common || !s.get(common).equals(scopes.get(0).get(common))) {
                    break outer;
                }
            }
            common++;
        }
        List<String> merged = new ArrayList<>(scopes.get(0).subList(0, common));
        Set<String> rest = new LinkedHashSet<>();
        for (List<String> s : scopes) {
            if (s.size() > common) {
                rest.add(String.join(" ", s.subList(common, s.size())));
            }
        }
        if (!rest.isEmpty()) {
            merged.add(String.join("/", rest));
        }
        return merged;
    }

    private static String format(List<String> scope, String suffix) {
        String block = null;
        StringBuilder words = new StringBuilder();
        for (String part : scope) {
            Matcher m = BLOCK.matcher(part);
            if (block == null && m.matches()) {
                block = m.group(1);
                continue;
            }
            if (WRAPPERS.contains(part.toLowerCase())) {
                continue;
            }
            words.append(words.length() == 0 ? "" : " ").append(part.replace('_', ' '));
        }
        words.append(words.length() == 0 ? "" : " ").append(suffix);
        return block == null ? words.toString() : "block " + block + SEPARATOR + words;
    }

    private static boolean isActivationWord(String part) {
        String p = part.toLowerCase();
        return p.contains("act") || p.matches("(gelu|relu|silu|swish|mish|tanh|sigmoid)(_\\d+)?");
    }

    /** The activation's display name from its discovery pattern: "Erf-GELU" is "GELU", "Relu" is "ReLU". */
    private static String activation(String pattern) {
        String a = pattern.substring(pattern.lastIndexOf('-') + 1);
        return switch (a.toLowerCase()) {
            case "relu" -> "ReLU";
            case "gelu", "fastgelu", "biasgelu" -> "GELU";
            case "silu" -> "SiLU";
            default -> a;
        };
    }
}
