package dev.vigil.server.probe;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.protocol.InferRequest;

/**
 * The request parameter {@code "inspect_attention": {"layer": L, "head": H}} (SPEC §2): which attention site and head
 * of the request to picture.
 *
 * @param layer the attention site's {@code layer} label
 * @param head  the head, 0-based
 */
record AttentionRequest(int layer, int head) {
    /** The parameter's name, also the response field of the picture. */
    static final String PARAMETER = "inspect_attention";

    /**
     * The request's parameter; null when it has none.
     *
     * @throws ApiException 400 naming the field when the parameter is not an object of two non-negative integers
     */
    static AttentionRequest of(InferRequest request) {
        JsonNode p = request.parameters().path(PARAMETER);
        if (p.isMissingNode() || p.isNull()) {
            return null;
        }
        if (!p.isObject()) {
            throw new ApiException(400, "parameter " + PARAMETER + " must be an object {\"layer\": L, \"head\": H}, not "
                    + p.getNodeType().name().toLowerCase());
        }
        return new AttentionRequest(index(p, "layer"), index(p, "head"));
    }

    private static int index(JsonNode p, String field) {
        JsonNode v = p.path(field);
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) {
            throw new ApiException(400, PARAMETER + "." + field + " must be a non-negative integer, not "
                    + (v.isMissingNode() ? "missing" : v.toString()));
        }
        return v.intValue();
    }
}
