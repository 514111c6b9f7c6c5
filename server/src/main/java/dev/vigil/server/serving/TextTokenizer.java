package dev.vigil.server.serving;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import dev.vigil.server.errors.ApiException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Path;

/**
 * A model's HuggingFace tokenizer (DJL): turns a batch of strings into token ids, attention mask and token type
 * ids, padded to the batch's longest sequence. Truncation is off: a text longer than the limit is rejected rather
 * than silently cut.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads a tokenizer.json. */
    public static TextTokenizer load(Path tokenizerJson) throws IOException {
        // The file's own padding/truncation settings are replaced: the batch is padded here, never truncated.
        return new TextTokenizer(HuggingFaceTokenizer.builder()
                .optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(true)
                .optPadding(false)
                .optTruncation(false)
                .build());
    }

    /**
     * Tokenizes a batch.
     *
     * @param texts             the strings
     * @param maxSequenceLength the longest allowed sequence, special tokens included
     * @param inputName         the request input's name, for error messages
     * @throws ApiException 400 when a text has more tokens than allowed
     */
    public TokenizedBatch encode(String[] texts, int maxSequenceLength, String inputName) {
        Encoding[] encodings = tokenizer.batchEncode(texts);
        int length = 0;
        for (int i = 0; i < encodings.length; i++) {
            int n = encodings[i].getIds().length;
            if (n > maxSequenceLength) {
                throw ApiException.badRequest("input '" + inputName + "' element " + i + " has " + n
                        + " tokens, more than max_sequence_length " + maxSequenceLength);
            }
            length = Math.max(length, n);
        }
        int cells = encodings.length * length;
        ByteBuffer idBytes = direct(cells);
        ByteBuffer maskBytes = direct(cells);
        ByteBuffer typeBytes = direct(cells);
        LongBuffer ids = idBytes.asLongBuffer();
        LongBuffer mask = maskBytes.asLongBuffer();
        LongBuffer types = typeBytes.asLongBuffer();
        long tokens = 0;
        for (Encoding e : encodings) {
            long[] id = e.getIds();
            long[] am = e.getAttentionMask();
            long[] ty = e.getTypeIds();
            ids.put(id);
            mask.put(am);
            types.put(ty);
            for (long m : am) {
                tokens += m;
            }
            // padding: id 0 ([PAD]), mask 0, type 0 (direct buffers start zeroed)
            int pad = length - id.length;
            ids.position(ids.position() + pad);
            mask.position(mask.position() + pad);
            types.position(types.position() + pad);
        }
        return new TokenizedBatch(encodings.length, length, idBytes, maskBytes, typeBytes, tokens);
    }

    /** The tokens of one text as the tokenizer writes them (e.g. {@code [CLS]}, {@code ##ing}), special tokens included. */
    public String[] tokens(String text) {
        return tokenizer.encode(text).getTokens();
    }

    private static ByteBuffer direct(int n) {
        return ByteBuffer.allocateDirect(n * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * A tokenized, padded batch, row-major {@code [batch, length]}, each field INT64 little-endian in a direct buffer.
     *
     * @param tokens the number of unmasked tokens
     */
    public record TokenizedBatch(int batch, int length, ByteBuffer ids, ByteBuffer attentionMask,
                                 ByteBuffer typeIds, long tokens) {
    }
}
