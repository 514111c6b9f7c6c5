package dev.vigil.server.protocol;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * An inference result, ready to serialize.
 *
 * @param id     the request's id, or null
 * @param extras extra top-level fields (e.g. {@code probe_summary}), written after {@code outputs}
 */
public record InferResponse(String modelName, String id, List<OutputTensor> outputs, Map<String, JsonNode> extras) {
    public InferResponse {
        extras = Map.copyOf(extras);
    }
}
