package dev.vigil.server;

import java.util.List;

/**
 * An inference result, ready to serialize.
 *
 * @param id the request's id, or null
 */
public record InferResponse(String modelName, String id, List<OutputTensor> outputs) {
}
