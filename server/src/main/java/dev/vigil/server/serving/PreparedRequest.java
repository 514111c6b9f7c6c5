package dev.vigil.server.serving;

import dev.vigil.server.protocol.InferRequest;

import dev.vigil.server.protocol.InputTensor;

import java.util.Map;
import java.util.Set;

/**
 * A request checked against its model and ready to run, alone or merged with others: its model inputs (the token
 * tensors of a text request), its size and the outputs it asked for.
 *
 * @param feeds     one input per model input, in the model's order, each with a direct little-endian buffer
 * @param rows      the batch size (axis 0)
 * @param tokens    unmasked tokens (0 for a model without an attention mask)
 * @param text      whether the feeds were tokenized from text (then the token inputs may be asked as outputs)
 * @param wanted    the outputs to return, in order, each with whether it goes binary
 * @param fromModel the model outputs among {@code wanted} (the others are echoed inputs)
 */
public record PreparedRequest(InferRequest request, Map<String, InputTensor> feeds, int rows, long tokens,
                              boolean text, Map<String, Boolean> wanted, Set<String> fromModel) {
}
