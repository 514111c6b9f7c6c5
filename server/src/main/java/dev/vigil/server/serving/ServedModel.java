package dev.vigil.server.serving;

import ai.onnxruntime.OrtException;

import java.util.Map;

/**
 * A model that loaded: its name, config, session, effective limits and, when it has a tokenizer.json, its
 * tokenizer with the mapping from token fields to the model's input names.
 *
 * @param tokenizer   the tokenizer, or null
 * @param tokenInputs which model input receives which token field (only when the tokenizer can fill every input)
 * @param inputRules  what the graph says about token inputs: vocabulary sizes, token axes, axes that must agree
 */
public record ServedModel(String name, ModelConfig config, ModelSession session, int maxBatchSize,
                          int maxSequenceLength, TextTokenizer tokenizer, Map<TokenField, String> tokenInputs,
                          TokenInputRules inputRules)
        implements AutoCloseable {

    /** The token fields a tokenizer produces. */
    public enum TokenField { IDS, ATTENTION_MASK, TYPE_IDS }

    public ServedModel {
        tokenInputs = Map.copyOf(tokenInputs);
    }

    /** A model whose graph was not read for token input rules (no vocabulary or length checks). */
    public ServedModel(String name, ModelConfig config, ModelSession session, int maxBatchSize, int maxSequenceLength,
                       TextTokenizer tokenizer, Map<TokenField, String> tokenInputs) {
        this(name, config, session, maxBatchSize, maxSequenceLength, tokenizer, tokenInputs, TokenInputRules.NONE);
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
