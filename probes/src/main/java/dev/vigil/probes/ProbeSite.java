package dev.vigil.probes;

import java.util.List;

/**
 * One discovered probe site (SPEC §3).
 *
 * @param kind    the site kind
 * @param layer   0-based ordinal among the sites of the same kind, in graph node order
 * @param tensor  the ONNX tensor name
 * @param shape   the dims as the graph declares them: a number ("128"), a symbolic name ("batch"), or "?" when
 *                unknown; empty when the graph declares no shape for the tensor
 * @param pattern what matched, e.g. "LayerNormalization", "Erf-GELU", "Softmax->MatMul"
 */
public record ProbeSite(SiteKind kind, int layer, String tensor, List<String> shape, String pattern) {
    public ProbeSite {
        shape = List.copyOf(shape);
    }
}
