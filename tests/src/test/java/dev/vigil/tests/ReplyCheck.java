package dev.vigil.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Checks an inference reply against reference outputs (bare ONNX Runtime's on the same inputs): status 200, the same
 * output names, and every FP32 value within {@value #TOLERANCE}, whether the output came as binary data or as JSON.
 * A benchmark that checks every reply this way cannot pass with wrong answers. A reply byte for byte equal to one
 * that was already checked value by value passes without being decoded again, so that checking costs the client
 * one comparison of the bytes.
 */
final class ReplyCheck {
    static final double TOLERANCE = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, float[]> reference;
    private final AtomicInteger decoded = new AtomicInteger();
    private volatile byte[] checked;

    /** @param reference the expected outputs by name, each flattened in row-major order */
    ReplyCheck(Map<String, float[]> reference) {
        this.reference = new LinkedHashMap<>(reference);
    }

    /** Replies that had to be decoded and compared value by value (the others equalled one of them byte for byte). */
    int decoded() {
        return decoded.get();
    }

    /**
     * @param headerLength the reply's {@code Inference-Header-Content-Length}, -1 when it is all JSON
     * @throws IllegalStateException naming the first difference
     */
    void check(int status, long headerLength, byte[] body, int length) {
        if (status != 200) {
            throw new IllegalStateException(status + ": " + new String(body, 0, length, StandardCharsets.UTF_8));
        }
        byte[] known = checked;
        if (known != null && Arrays.equals(known, 0, known.length, body, 0, length)) {
            return;
        }
        compare(headerLength, body, length);
        decoded.incrementAndGet();
        checked = Arrays.copyOf(body, length);
    }

    private void compare(long headerLength, byte[] body, int length) {
        int jsonLength = headerLength < 0 ? length : (int) headerLength;
        JsonNode reply;
        try {
            reply = JSON.readTree(body, 0, jsonLength);
        } catch (IOException e) {
            throw new IllegalStateException("the reply's JSON does not parse: " + e.getMessage(), e);
        }
        JsonNode outputs = reply.path("outputs");
        if (outputs.size() != reference.size()) {
            throw new IllegalStateException("expected outputs " + reference.keySet() + ", got " + outputs);
        }
        ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, length - jsonLength).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode o : outputs) {
            String name = o.path("name").asText();
            float[] want = reference.get(name);
            if (want == null || !o.path("datatype").asText().equals("FP32")) {
                throw new IllegalStateException("unexpected output " + name + " " + o.path("datatype")
                        + "; expected FP32 outputs " + reference.keySet());
            }
            JsonNode size = o.path("parameters").path("binary_data_size");
            float[] got = new float[want.length];
            if (size.isMissingNode()) {
                JsonNode data = o.path("data");
                if (data.size() != want.length) {
                    throw new IllegalStateException(name + ": " + data.size() + " values, expected " + want.length);
                }
                for (int i = 0; i < got.length; i++) {
                    got[i] = data.get(i).floatValue();
                }
            } else {
                if (size.asLong() != want.length * 4L || binary.remaining() < size.asLong()) {
                    throw new IllegalStateException(name + ": " + size + " bytes of binary data, expected "
                            + want.length * 4L + " (" + binary.remaining() + " left in the reply)");
                }
                binary.asFloatBuffer().get(got);
                binary.position(binary.position() + got.length * 4);
            }
            for (int i = 0; i < got.length; i++) {
                if (!(Math.abs(got[i] - want[i]) <= TOLERANCE)) {
                    throw new IllegalStateException(name + "[" + i + "] is " + got[i] + ", bare ONNX Runtime gave "
                            + want[i]);
                }
            }
        }
        if (binary.hasRemaining()) {
            throw new IllegalStateException(binary.remaining() + " bytes after the outputs' binary data");
        }
    }
}
