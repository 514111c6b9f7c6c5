package dev.vigil.server.protocol;

import ai.onnxruntime.platform.Fp16Conversions;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.memory.RequestMemory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes a KServe v2 inference request: the JSON header with Jackson's streaming parser, numbers written
 * straight into direct buffers (no boxing, no per-element objects), and the binary tensor data extension's raw
 * little-endian sections after the header. Floating-point inputs must be finite.
 */
public final class InferRequestParser {
    private static final JsonFactory FACTORY = JsonLimits.factory();
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    /**
     * Parses a request body.
     *
     * @param body         the bytes
     * @param headerLength the {@code Inference-Header-Content-Length} header's value, or -1 when absent (then
     *                     the whole body is JSON)
     * @throws ApiException 400 naming what is wrong
     */
    public InferRequest parse(byte[] body, long headerLength) {
        return parse(body, headerLength, RequestMemory.unbounded());
    }

    /**
     * Parses a request body, taking the decoded tensors' buffers from the request's memory (charged to its budget
     * before they are allocated, freed when it closes).
     *
     * @throws ApiException 400 naming what is wrong; 413 or 503 when the decoded tensors do not fit the budget
     */
    public InferRequest parse(byte[] body, long headerLength, RequestMemory memory) {
        if (headerLength > body.length || headerLength == 0 || headerLength < -1) {
            throw ApiException.badRequest("Inference-Header-Content-Length " + headerLength
                    + " does not fit a body of " + body.length + " bytes");
        }
        int jsonLength = headerLength < 0 ? body.length : (int) headerLength;
        List<PendingInput> pending = new ArrayList<>();
        List<OutputRequest> outputs = new ArrayList<>();
        String id = null;
        JsonNode parameters = MissingNode.getInstance();
        try (JsonParser p = FACTORY.createParser(body, 0, jsonLength)) {
            try {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw ApiException.badRequest("request body must be a JSON object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken t = p.nextToken();
                    switch (field) {
                        case "id" -> {
                            if (t != JsonToken.VALUE_STRING) {
                                throw ApiException.badRequest("'id' must be a string");
                            }
                            id = p.getText();
                        }
                        case "parameters" -> parameters = readObject(p, "parameters");
                        case "inputs" -> {
                            expectArray(p, "inputs");
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                pending.add(parseInput(p, pending.size(), jsonLength, memory));
                            }
                        }
                        case "outputs" -> {
                            expectArray(p, "outputs");
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                outputs.add(parseOutput(p));
                            }
                        }
                        default -> p.skipChildren();
                    }
                }
                if (p.nextToken() != null) {
                    throw ApiException.badRequest("malformed JSON at line " + p.currentLocation().getLineNr()
                            + ", column " + p.currentLocation().getColumnNr()
                            + ": content after the end of the request object");
                }
            } catch (JsonProcessingException e) {
                // inside the parser's scope: the library's limit errors carry no location of their own
                throw ApiException.badRequest(JsonErrorMessage.of(e, p.currentLocation()));
            }
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read the request: " + e.getMessage());
        }
        if (pending.isEmpty()) {
            throw ApiException.badRequest("request has no inputs");
        }
        JsonNode binaryOut = parameters.path("binary_data_output");
        if (!binaryOut.isMissingNode() && !binaryOut.isBoolean()) {
            throw ApiException.badRequest("parameter 'binary_data_output' must be a boolean");
        }
        List<InputTensor> inputs = attachBinary(pending, body, jsonLength, memory);
        return new InferRequest(id, List.copyOf(inputs), List.copyOf(outputs), binaryOut.asBoolean(false), parameters);
    }

    /** An input while its JSON object is read: fields may come in any order. */
    private static final class PendingInput {
        String name;
        Datatype datatype;
        long[] shape;
        long binaryDataSize = -1;
        ByteBuffer data;
        String[] strings;
        TokenBuffer deferredData;
    }

    private static PendingInput parseInput(JsonParser p, int index, int jsonLength, RequestMemory memory)
            throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw ApiException.badRequest("inputs[" + index + "] must be an object");
        }
        PendingInput in = new PendingInput();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "name" -> {
                    if (t != JsonToken.VALUE_STRING) {
                        throw ApiException.badRequest("inputs[" + index + "].name must be a string");
                    }
                    in.name = p.getText();
                }
                case "datatype" -> {
                    String dt = p.getText();
                    in.datatype = Datatype.fromName(dt);
                    if (in.datatype == null) {
                        throw ApiException.badRequest("input " + label(in, index) + " has unknown datatype '" + dt
                                + "' (known: " + Datatype.names() + ")");
                    }
                }
                case "shape" -> in.shape = parseShape(p, in, index);
                case "parameters" -> {
                    JsonNode params = readObject(p, "input " + label(in, index) + " parameters");
                    JsonNode size = params.path("binary_data_size");
                    if (!size.isMissingNode()) {
                        if (!size.isIntegralNumber() || size.longValue() < 0) {
                            throw ApiException.badRequest("input " + label(in, index)
                                    + " parameter binary_data_size must be a non-negative integer");
                        }
                        in.binaryDataSize = size.longValue();
                    }
                }
                case "data" -> {
                    if (in.datatype == null) {
                        // Rare order (data before datatype): keep the tokens and decode once the type is known.
                        in.deferredData = new TokenBuffer(p);
                        in.deferredData.copyCurrentStructure(p);
                    } else {
                        readData(p, in, index, jsonLength, memory);
                    }
                }
                default -> p.skipChildren();
            }
        }
        if (in.name == null) {
            throw ApiException.badRequest("inputs[" + index + "] has no name");
        }
        if (in.datatype == null) {
            throw ApiException.badRequest("input '" + in.name + "' has no datatype");
        }
        if (in.shape == null) {
            throw ApiException.badRequest("input '" + in.name + "' has no shape");
        }
        if (in.deferredData != null) {
            try (JsonParser replay = in.deferredData.asParser()) {
                replay.nextToken();
                readData(replay, in, index, jsonLength, memory);
            }
        }
        return in;
    }

    private static String label(PendingInput in, int index) {
        return in.name != null ? "'" + in.name + "'" : "inputs[" + index + "]";
    }

    private static long[] parseShape(JsonParser p, PendingInput in, int index) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw ApiException.badRequest("input " + label(in, index) + " shape must be an array of integers");
        }
        long[] dims = new long[8];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_INT || p.getLongValue() < 0) {
                throw ApiException.badRequest("input " + label(in, index)
                        + " shape must be an array of non-negative integers");
            }
            if (n == dims.length) {
                dims = Arrays.copyOf(dims, n * 2);
            }
            dims[n++] = p.getLongValue();
        }
        return Arrays.copyOf(dims, n);
    }

    private static OutputRequest parseOutput(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw ApiException.badRequest("each of 'outputs' must be an object with a name");
        }
        String name = null;
        Boolean binary = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            if (field.equals("name") && t == JsonToken.VALUE_STRING) {
                name = p.getText();
            } else if (field.equals("parameters")) {
                JsonNode b = readObject(p, "output parameters").path("binary_data");
                if (!b.isMissingNode()) {
                    if (!b.isBoolean()) {
                        throw ApiException.badRequest("output parameter binary_data must be a boolean");
                    }
                    binary = b.booleanValue();
                }
            } else {
                p.skipChildren();
            }
        }
        if (name == null) {
            throw ApiException.badRequest("each of 'outputs' must have a string 'name'");
        }
        return new OutputRequest(name, binary);
    }

    private static JsonNode readObject(JsonParser p, String what) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw ApiException.badRequest("'" + what + "' must be a JSON object");
        }
        return MAPPER.readTree(p);
    }

    private static void expectArray(JsonParser p, String what) {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw ApiException.badRequest("'" + what + "' must be an array");
        }
    }

    /** Reads the JSON {@code data} value (flat or nested arrays, or a single scalar) into the input. */
    private static void readData(JsonParser p, PendingInput in, int index, int jsonLength, RequestMemory memory)
            throws IOException {
        Datatype type = in.datatype;
        String name = label(in, index);
        long expected = in.shape == null ? -1 : Shapes.elementCount(in.shape);
        // Every JSON element takes at least 2 bytes ("1,"), which bounds a truthful shape.
        long cap = Math.min(expected < 0 ? 64 : expected, jsonLength / 2 + 1);
        if (type == Datatype.BYTES) {
            List<String> strings = new ArrayList<>((int) Math.min(cap, 1024));
            readElements(p, (t, i) -> {
                if (t != JsonToken.VALUE_STRING) {
                    throw elementError(name, type, i, t);
                }
                strings.add(p.getText());
            });
            in.strings = strings.toArray(new String[0]);
            return;
        }
        GrowableBuffer buf = new GrowableBuffer(memory, cap * type.elementSize());
        readElements(p, (t, i) -> {
            switch (type) {
                case FP32 -> {
                    float v = number(p, t, name, type, i).getFloatValue();
                    if (!Float.isFinite(v)) {
                        throw nonFinite(name, i, p.getText());
                    }
                    buf.putFloat(v);
                }
                case FP64 -> {
                    double v = number(p, t, name, type, i).getDoubleValue();
                    if (!Double.isFinite(v)) {
                        throw nonFinite(name, i, p.getText());
                    }
                    buf.putDouble(v);
                }
                case FP16 -> {
                    float v = number(p, t, name, type, i).getFloatValue();
                    short h = Fp16Conversions.floatToFp16(v);
                    if (!Float.isFinite(Fp16Conversions.fp16ToFloat(h))) {
                        throw nonFinite(name, i, p.getText());
                    }
                    buf.putShort(h);
                }
                case INT64 -> buf.putLong(integer(p, t, name, type, i, Long.MIN_VALUE, Long.MAX_VALUE));
                case INT32 -> buf.putInt((int) integer(p, t, name, type, i, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case INT16 -> buf.putShort((short) integer(p, t, name, type, i, Short.MIN_VALUE, Short.MAX_VALUE));
                case INT8 -> buf.putByte((byte) integer(p, t, name, type, i, Byte.MIN_VALUE, Byte.MAX_VALUE));
                case UINT8 -> buf.putByte((byte) integer(p, t, name, type, i, 0, 255));
                case BOOL -> {
                    if (t == JsonToken.VALUE_TRUE) {
                        buf.putByte((byte) 1);
                    } else if (t == JsonToken.VALUE_FALSE) {
                        buf.putByte((byte) 0);
                    } else {
                        throw elementError(name, type, i, t);
                    }
                }
                default -> throw new IllegalStateException(type.name());
            }
        });
        in.data = buf.finish();
    }

    @FunctionalInterface
    private interface ElementSink {
        void accept(JsonToken token, long index) throws IOException;
    }

    private static void readElements(JsonParser p, ElementSink sink) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_ARRAY) {
            sink.accept(t, 0);
            return;
        }
        int depth = 1;
        long index = 0;
        while (depth > 0) {
            t = p.nextToken();
            if (t == JsonToken.START_ARRAY) {
                depth++;
            } else if (t == JsonToken.END_ARRAY) {
                depth--;
            } else {
                sink.accept(t, index++);
            }
        }
    }

    private static JsonParser number(JsonParser p, JsonToken t, String name, Datatype type, long i) {
        if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
            throw elementError(name, type, i, t);
        }
        return p;
    }

    private static long integer(JsonParser p, JsonToken t, String name, Datatype type, long i, long min, long max)
            throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw elementError(name, type, i, t);
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw ApiException.badRequest("input " + name + " element " + i + " (" + p.getText()
                    + ") is out of range for " + type);
        }
        long v = p.getLongValue();
        if (v < min || v > max) {
            throw ApiException.badRequest("input " + name + " element " + i + " (" + v + ") is out of range for "
                    + type);
        }
        return v;
    }

    private static ApiException elementError(String name, Datatype type, long i, JsonToken t) {
        String what = switch (type) {
            case BOOL -> "true or false";
            case BYTES -> "a string";
            case FP16, FP32, FP64 -> "a number";
            default -> "an integer";
        };
        return ApiException.badRequest("input " + name + " has datatype " + type + " but element " + i + " is "
                + describe(t) + ", not " + what);
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_FLOAT -> "a fractional number";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case START_OBJECT -> "an object";
            default -> t.toString();
        };
    }

    private static ApiException nonFinite(String name, long i, String text) {
        return ApiException.badRequest("input " + name + " element " + i + " is " + text
                + "; NaN and infinite values are not accepted");
    }

    /** Takes each binary input's bytes, in input order, from the section after the JSON header. */
    private static List<InputTensor> attachBinary(List<PendingInput> pending, byte[] body, int jsonLength,
                                                  RequestMemory memory) {
        int offset = jsonLength;
        List<InputTensor> inputs = new ArrayList<>(pending.size());
        for (PendingInput in : pending) {
            long expected = Shapes.elementCount(in.shape);
            boolean hasJsonData = in.data != null || in.strings != null;
            if (in.binaryDataSize >= 0) {
                if (hasJsonData) {
                    throw ApiException.badRequest("input '" + in.name
                            + "' has both JSON data and binary_data_size; send one");
                }
                if (in.binaryDataSize > body.length - offset) {
                    throw ApiException.badRequest("input '" + in.name + "' binary_data_size " + in.binaryDataSize
                            + " exceeds the " + (body.length - offset) + " binary bytes left in the body");
                }
                int size = (int) in.binaryDataSize;
                if (in.datatype == Datatype.BYTES) {
                    in.strings = decodeBytes(in.name, body, offset, size);
                } else {
                    long want = expected == Long.MAX_VALUE ? Long.MAX_VALUE : expected * in.datatype.elementSize();
                    if (size != want) {
                        throw ApiException.badRequest("input '" + in.name + "' shape " + Shapes.format(in.shape)
                                + " of " + in.datatype + " needs " + want + " bytes but binary_data_size is " + size);
                    }
                    ByteBuffer data = memory.allocateDirect(size);
                    data.put(body, offset, size).flip();
                    checkFinite(in.name, in.datatype, data);
                    in.data = data;
                }
                offset += size;
            } else if (!hasJsonData) {
                throw ApiException.badRequest("input '" + in.name + "' has no data (neither 'data' nor "
                        + "parameters.binary_data_size)");
            }
            long actual = in.strings != null ? in.strings.length : in.data.remaining() / in.datatype.elementSize();
            if (actual != expected) {
                throw ApiException.badRequest("input '" + in.name + "' has shape " + Shapes.format(in.shape)
                        + " (" + expected + " elements) but its data has " + actual + " elements");
            }
            inputs.add(new InputTensor(in.name, in.datatype, in.shape, in.data, in.strings));
        }
        if (offset != body.length) {
            throw ApiException.badRequest("the body has " + (body.length - offset)
                    + " bytes after the JSON header that no input's binary_data_size claims");
        }
        return inputs;
    }

    private static String[] decodeBytes(String name, byte[] body, int offset, int size) {
        List<String> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(body, offset, size).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (b.remaining() < 4) {
                throw ApiException.badRequest("input '" + name + "' BYTES element " + out.size()
                        + " is cut off in its 4-byte length prefix");
            }
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) {
                throw ApiException.badRequest("input '" + name + "' BYTES element " + out.size() + " claims "
                        + Integer.toUnsignedString(len) + " bytes but " + b.remaining() + " remain");
            }
            out.add(new String(body, b.position(), len, StandardCharsets.UTF_8));
            b.position(b.position() + len);
        }
        return out.toArray(new String[0]);
    }

    private static void checkFinite(String name, Datatype type, ByteBuffer data) {
        int n = data.remaining() / Math.max(1, type.elementSize());
        switch (type) {
            case FP32 -> {
                for (int i = 0; i < n; i++) {
                    if (!Float.isFinite(data.getFloat(i << 2))) {
                        throw nonFinite("'" + name + "'", i, Float.toString(data.getFloat(i << 2)));
                    }
                }
            }
            case FP64 -> {
                for (int i = 0; i < n; i++) {
                    if (!Double.isFinite(data.getDouble(i << 3))) {
                        throw nonFinite("'" + name + "'", i, Double.toString(data.getDouble(i << 3)));
                    }
                }
            }
            case FP16 -> {
                for (int i = 0; i < n; i++) {
                    // exponent bits all ones: Inf or NaN
                    if ((data.getShort(i << 1) & 0x7C00) == 0x7C00) {
                        throw nonFinite("'" + name + "'", i, "NaN or infinite");
                    }
                }
            }
            default -> {
            }
        }
    }

    /** A direct little-endian buffer from the request's memory that doubles when full. */
    private static final class GrowableBuffer {
        private final RequestMemory memory;
        private ByteBuffer buf;

        GrowableBuffer(RequestMemory memory, long initialBytes) {
            this.memory = memory;
            buf = memory.allocateDirect((int) Math.max(16, Math.min(initialBytes, Integer.MAX_VALUE - 8)));
        }

        private void ensure(int bytes) {
            if (buf.remaining() < bytes) {
                long cap = Math.min((long) buf.capacity() * 2, Integer.MAX_VALUE - 8);
                if (cap - buf.position() < bytes) {
                    throw ApiException.badRequest("input data is too large");
                }
                ByteBuffer bigger = memory.allocateDirect((int) cap);
                buf.flip();
                bigger.put(buf);
                memory.free(buf);
                buf = bigger;
            }
        }

        void putFloat(float v) {
            ensure(4);
            buf.putFloat(v);
        }

        void putDouble(double v) {
            ensure(8);
            buf.putDouble(v);
        }

        void putLong(long v) {
            ensure(8);
            buf.putLong(v);
        }

        void putInt(int v) {
            ensure(4);
            buf.putInt(v);
        }

        void putShort(short v) {
            ensure(2);
            buf.putShort(v);
        }

        void putByte(byte v) {
            ensure(1);
            buf.put(v);
        }

        ByteBuffer finish() {
            return buf.flip();
        }
    }
}
