package dev.vigil.server;

import ai.onnxruntime.OrtException;

import java.util.Map;

/**
 * A model that loaded: its name, config, session, effective limits and, when it has a tokenizer.json, its
 * tokenizer with the mapping from token fields to the model's input names.
 *
 * @param tokenizer   the tokenizer, or null
 * @param tokenInputs which model input receives which token field (only when the tokenizer can fill every input)
 */
public record ServedModel(String name, ModelConfig config, ModelSession session, int maxBatchSize,
                          int maxSequenceLength, TextTokenizer tokenizer, Map<TokenField, String> tokenInputs)
        implements AutoCloseable {

    /** The token fields a tokenizer produces. */
    public enum TokenField { IDS, ATTENTION_MASK, TYPE_IDS }

    public ServedModel {
        tokenInputs = Map.copyOf(tokenInputs);
    }

    /** Whether this model accepts a BYTES input of strings that the server tokenizes. */
    public boolean acceptsText() {
        return tokenizer != null && !tokenInputs.isEmpty();
    }

    /** The model input fed with the attention mask, or null. */
    public String attentionMaskInput() {
        return tokenInputs.get(TokenField.ATTENTION_MASK);
    }

    @Override
    public void close() throws OrtException {
        if (tokenizer != null) {
            tokenizer.close();
        }
        session.close();
    }
}
