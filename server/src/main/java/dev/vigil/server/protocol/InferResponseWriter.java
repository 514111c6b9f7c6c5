package dev.vigil.server.protocol;

import ai.onnxruntime.platform.Fp16Conversions;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Serializes an {@link InferResponse}: outputs as JSON {@code data}, or, for outputs asked in binary, as raw
 * little-endian bytes after the JSON header with {@code parameters.binary_data_size} (the binary tensor data
 * extension; BYTES elements carry a 4-byte little-endian length prefix each). A response whose outputs are all JSON
 * can be written straight to the connection as it is formatted ({@link #writeJson}): a large float output then
 * crosses the socket while the rest is still being formatted, and is never held whole in memory.
 */
public final class InferResponseWriter {
    private static final ObjectMapper TREE = new ObjectMapper();
    private static final int CHUNK_BYTES = 32768;
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            // float data bypasses the generator: its flush must only hand over its buffer, and the caller owns the
            // stream
            .disable(StreamWriteFeature.FLUSH_PASSED_TO_STREAM)
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .build();

    /**
     * An encoded response: the JSON header, then the binary parts in output order.
     *
     * @param binary the binary sections; empty when every output is JSON
     */
    public record Encoded(byte[] json, List<ByteBuffer> binary) {
        /** Whether the binary extension is used (the header length must then be sent). */
        public boolean hasBinary() {
            return !binary.isEmpty();
        }

        /** The whole body length. */
        public long length() {
            long n = json.length;
            for (ByteBuffer b : binary) {
                n += b.remaining();
            }
            return n;
        }
    }

    /** Whether every output of the response goes as JSON, so that {@link #writeJson} can write it. */
    public static boolean allJson(InferResponse response) {
        for (OutputTensor out : response.outputs()) {
            if (out.binary()) {
                return false;
            }
        }
        return true;
    }

    /** Encodes a response. */
    public Encoded encode(InferResponse response) {
        List<ByteBuffer> binary = new ArrayList<>();
        try (ByteArrayBuilder bytes = new ByteArrayBuilder(1024)) {
            write(response, bytes, binary);
            return new Encoded(bytes.toByteArray(), binary);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes the whole JSON body of a response whose outputs are all JSON ({@link #allJson}) to {@code out} as it is
     * formatted, in chunks of at most 32 KB; leaves {@code out} open.
     *
     * @throws IllegalArgumentException when an output is asked in binary
     * @throws IOException              when {@code out} fails (the client went away)
     */
    public void writeJson(InferResponse response, OutputStream out) throws IOException {
        if (!allJson(response)) {
            throw new IllegalArgumentException("a response with binary outputs has a header to size first");
        }
        write(response, out, null);
    }

    /** Writes the JSON; binary outputs get their size in it and are added to {@code binary}. */
    private static void write(InferResponse response, OutputStream out, List<ByteBuffer> binary) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("model_name", response.modelName());
            if (response.id() != null) {
                g.writeStringField("id", response.id());
            }
            g.writeArrayFieldStart("outputs");
            for (OutputTensor o : response.outputs()) {
                g.writeStartObject();
                g.writeStringField("name", o.name());
                g.writeStringField("datatype", o.datatype().name());
                g.writeArrayFieldStart("shape");
                for (long d : o.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                if (o.binary()) {
                    ByteBuffer raw = rawBytes(o);
                    binary.add(raw);
                    g.writeObjectFieldStart("parameters");
                    g.writeNumberField("binary_data_size", raw.remaining());
                    g.writeEndObject();
                } else {
                    g.writeFieldName("data");
                    writeData(g, out, o);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            for (Map.Entry<String, JsonNode> e : response.extras().entrySet()) {
                g.writeFieldName(e.getKey());
                TREE.writeTree(g, e.getValue());
            }
            g.writeEndObject();
        }
    }

    private static ByteBuffer rawBytes(OutputTensor out) {
        if (out.datatype() != Datatype.BYTES) {
            return out.data().duplicate();
        }
        int size = 0;
        byte[][] encoded = new byte[out.strings().length][];
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = out.strings()[i].getBytes(StandardCharsets.UTF_8);
            size += 4 + encoded[i].length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] e : encoded) {
            b.putInt(e.length).put(e);
        }
        return b.flip();
    }

    /**
     * Writes a float array as JSON text straight to {@code out}, formatted in place chunk by chunk ({@link FloatText}):
     * no String or node per number, which is what a large output's JSON costs. The generator writes the separator
     * before the value and hands over what it holds first.
     */
    private static void writeFloats(JsonGenerator g, OutputStream out, ByteBuffer d, boolean fp16)
            throws IOException {
        g.writeRawValue("");
        g.flush();
        int size = fp16 ? 2 : 4;
        int n = d.remaining() / size;
        int base = d.position();
        byte[] buf = new byte[(int) Math.min(CHUNK_BYTES, (n + 1L) * (FloatText.ROOM + 1) + 1)];
        int pos = 0;
        buf[pos++] = '[';
        for (int i = 0; i < n; i++) {
            if (pos > buf.length - FloatText.ROOM - 2) {
                out.write(buf, 0, pos);
                pos = 0;
            }
            if (i > 0) {
                buf[pos++] = ',';
            }
            float v = fp16 ? Fp16Conversions.fp16ToFloat(d.getShort(base + (i << 1))) : d.getFloat(base + (i << 2));
            if (Float.isFinite(v)) {
                pos = FloatText.write(v, buf, pos);
            } else {
                // as Jackson writes them: NaN and Infinity are not JSON numbers, but a model may produce them
                byte[] text = ('"' + Float.toString(v) + '"').getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(text, 0, buf, pos, text.length);
                pos += text.length;
            }
        }
        buf[pos++] = ']';
        out.write(buf, 0, pos);
    }

    private static void writeData(JsonGenerator g, OutputStream stream, OutputTensor out) throws IOException {
        ByteBuffer d = out.data() == null ? null : out.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (out.datatype() == Datatype.FP32 || out.datatype() == Datatype.FP16) {
            writeFloats(g, stream, d, out.datatype() == Datatype.FP16);
            return;
        }
        g.writeStartArray();
        switch (out.datatype()) {
            case FP64 -> {
                int n = d.remaining() / 8;
                for (int i = 0; i < n; i++) {
                    g.writeNumber(d.getDouble(i << 3));
                }
            }
            case INT64 -> {
                int n = d.remaining() / 8;
                for (int i = 0; i < n; i++) {
                    g.writeNumber(d.getLong(i << 3));
                }
            }
            case INT32 -> {
                int n = d.remaining() / 4;
                for (int i = 0; i < n; i++) {
                    g.writeNumber(d.getInt(i << 2));
                }
            }
            case INT16 -> {
                int n = d.remaining() / 2;
                for (int i = 0; i < n; i++) {
                    g.writeNumber(d.getShort(i << 1));
                }
            }
            case INT8 -> {
                for (int i = 0; i < d.remaining(); i++) {
                    g.writeNumber(d.get(i));
                }
            }
            case UINT8 -> {
                for (int i = 0; i < d.remaining(); i++) {
                    g.writeNumber(d.get(i) & 0xFF);
                }
            }
            case BOOL -> {
                for (int i = 0; i < d.remaining(); i++) {
                    g.writeBoolean(d.get(i) != 0);
                }
            }
            case BYTES -> {
                for (String s : out.strings()) {
                    g.writeString(s);
                }
            }
        }
        g.writeEndArray();
    }
}
