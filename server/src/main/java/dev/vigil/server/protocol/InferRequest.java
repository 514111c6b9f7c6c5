package dev.vigil.server.protocol;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * A decoded inference request.
 *
 * @param id           the request's {@code id}, echoed in the response (null when absent)
 * @param outputs      the outputs asked for; empty means all
 * @param binaryOutput the request-level {@code parameters.binary_data_output}
 * @param parameters   the request's {@code parameters} object (a missing node when absent)
 */
public record InferRequest(String id, List<InputTensor> inputs, List<OutputRequest> outputs,
                           boolean binaryOutput, JsonNode parameters) {
}
