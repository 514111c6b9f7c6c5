package dev.vigil.server.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InferResponseWriter}'s JSON read back by Jackson's parser: every float of a large output as the very same
 * float (Java's parser on the number's text), the other fields as written; the streamed body is the encoded one,
 * and it reaches the stream in bounded chunks as it is formatted, not as one array at the end.
 */
class InferResponseWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Records the size of every write. */
    private static final class ChunkRecorder extends ByteArrayOutputStream {
        int writes;
        int largest;

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            writes++;
            largest = Math.max(largest, len);
            super.write(b, off, len);
        }
    }

    private static ByteBuffer floats(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.flip();
    }

    private static float[] activations(int n) {
        SplittableRandom random = new SplittableRandom(7);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 3)));
        }
        v[5] = Float.NaN;
        v[6] = Float.NEGATIVE_INFINITY;
        v[7] = -0f;
        v[8] = Float.MIN_VALUE;
        return v;
    }

    /** The floats of the array at the parser, each read from its own text by Java's float parser. */
    private static float[] readFloats(byte[] json, String output) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(json)) {
            while (p.nextToken() != null) {
                if (p.currentToken() == JsonToken.VALUE_STRING && p.getText().equals(output)
                        && "name".equals(p.currentName())) {
                    while (!"data".equals(p.currentName()) || p.currentToken() != JsonToken.START_ARRAY) {
                        p.nextToken();
                    }
                    float[] out = new float[1 << 20];
                    int n = 0;
                    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                        // NaN and the infinities come as strings, as Jackson writes them
                        out[n++] = Float.parseFloat(p.getText());
                    }
                    return java.util.Arrays.copyOf(out, n);
                }
            }
        }
        throw new AssertionError("no output " + output);
    }

    @Test
    void aLargeFloatOutputStreamsInChunksAndReadsBackExactly() throws IOException {
        float[] values = activations(120_000);
        short[] halves = {0x3C00, (short) 0xC000, 0x7C00, 0x0001};
        ByteBuffer fp16 = ByteBuffer.allocate(halves.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short h : halves) {
            fp16.putShort(h);
        }
        fp16.flip();
        ByteBuffer ids = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-3).putLong(1L << 60).flip();
        InferResponse response = new InferResponse("m", "req-1", List.of(
                new OutputTensor("big", Datatype.FP32, new long[]{values.length}, floats(values), null, false),
                new OutputTensor("half", Datatype.FP16, new long[]{4}, fp16, null, false),
                new OutputTensor("ids", Datatype.INT64, new long[]{2}, ids, null, false),
                new OutputTensor("words", Datatype.BYTES, new long[]{2}, null, new String[]{"a\"b", "é"}, false)),
                Map.of("probe", JSON.readTree("{\"score\": 0.5}")));
        InferResponseWriter writer = new InferResponseWriter();
        ChunkRecorder stream = new ChunkRecorder();
        writer.writeJson(response, stream);
        byte[] streamed = stream.toByteArray();

        assertArrayEquals(writer.encode(response).json(), streamed);
        assertTrue(stream.writes > 20 && stream.largest <= 32768,
                stream.writes + " writes, the largest " + stream.largest + " bytes, of " + streamed.length);
        float[] back = readFloats(streamed, "big");
        assertEquals(values.length, back.length);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToIntBits(values[i]), Float.floatToIntBits(back[i]), "big[" + i + "]");
        }
        assertArrayEquals(new float[]{1f, -2f, Float.POSITIVE_INFINITY, 5.9604645E-8f}, readFloats(streamed, "half"));
        JsonNode tree = JSON.readTree(streamed);
        assertEquals("m", tree.get("model_name").asText());
        assertEquals("req-1", tree.get("id").asText());
        assertEquals(-3, tree.get("outputs").get(2).get("data").get(0).asLong());
        assertEquals(1L << 60, tree.get("outputs").get(2).get("data").get(1).asLong());
        assertEquals("a\"b", tree.get("outputs").get(3).get("data").get(0).asText());
        assertEquals("é", tree.get("outputs").get(3).get("data").get(1).asText());
        assertEquals(0.5, tree.get("probe").get("score").asDouble());
        assertEquals(values.length, tree.get("outputs").get(0).get("shape").get(0).asInt());
    }

    @Test
    void emptyAndSmallFloatOutputs() throws IOException {
        InferResponse response = new InferResponse("m", null, List.of(
                new OutputTensor("none", Datatype.FP32, new long[]{0}, floats(new float[0]), null, false),
                new OutputTensor("one", Datatype.FP32, new long[]{1}, floats(new float[]{0.1f}), null, false)),
                Map.of());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new InferResponseWriter().writeJson(response, out);
        assertEquals("{\"model_name\":\"m\",\"outputs\":[{\"name\":\"none\",\"datatype\":\"FP32\",\"shape\":[0],"
                + "\"data\":[]},{\"name\":\"one\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[0.1]}]}", out.toString());
    }

    @Test
    void aResponseWithBinaryOutputsIsNotStreamed() {
        InferResponse response = new InferResponse("m", null, List.of(
                new OutputTensor("y", Datatype.FP32, new long[]{1}, floats(new float[]{1f}), null, true)), Map.of());
        assertFalse(InferResponseWriter.allJson(response));
        assertThrows(IllegalArgumentException.class,
                () -> new InferResponseWriter().writeJson(response, new ByteArrayOutputStream()));
        assertEquals(4, new InferResponseWriter().encode(response).binary().get(0).remaining());
    }
}
