package dev.vigil.server;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token inputs checked against what the graph says, before any run: ids within the embedding table's rows, the
 * token axis within max_sequence_length, ids/mask/type ids of one length. A BERT-shaped embedding model with known
 * tables: {@code y[b,t,:] = (E[ids[b,t]] + T[types[b,t]]) · mask[b,t]}, E [10,2], T [2,2] (types INT32, cast to
 * INT64 before their Gather, as some exporters write it).
 */
class TokenInputCheckTest {
    private static final int VOCAB = 10;
    private static final int MAX_TOKENS = 8;

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createDirectories(repo.resolve("emb"));
        Files.write(dir.resolve("model.onnx"), embeddingModel("batch", "sequence").toByteArray());
        // as some exports name the axes: every one after the batch
        Path sloppy = Files.createDirectories(repo.resolve("emb-batch-named"));
        Files.write(sloppy.resolve("model.onnx"), embeddingModel("batch", "batch").toByteArray());
        server = new VigilServer(TestServers.cpu(repo).maxSequenceLength(MAX_TOKENS).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static float e(long id, int j) {
        return id * 10 + j;
    }

    private static float t(long type, int j) {
        return -(type + 1) * (j + 1);
    }

    private static String request(long[] ids, int[] types, long[] mask) {
        return "{\"inputs\":["
                + "{\"name\":\"input_ids\",\"datatype\":\"INT64\",\"shape\":[1," + ids.length + "],\"data\":"
                + Arrays.toString(ids) + "},"
                + "{\"name\":\"token_type_ids\",\"datatype\":\"INT32\",\"shape\":[1," + types.length + "],\"data\":"
                + Arrays.toString(types) + "},"
                + "{\"name\":\"attention_mask\",\"datatype\":\"INT64\",\"shape\":[1," + mask.length + "],\"data\":"
                + Arrays.toString(mask) + "}]}";
    }

    private static long[] ones(int n) {
        long[] m = new long[n];
        Arrays.fill(m, 1);
        return m;
    }

    private static String refused(String json, String... fragments) {
        return refusedBy("emb", json, fragments);
    }

    private static String refusedBy(String model, String json, String... fragments) {
        HttpResponse<byte[]> r = http.postJson("/v2/models/" + model + "/infer", json);
        assertEquals(400, r.statusCode(), Http.text(r));
        String error = Http.json(r).get("error").asText();
        for (String f : fragments) {
            assertTrue(error.contains(f), "'" + error + "' should contain '" + f + "'");
        }
        return error;
    }

    private static double runs() {
        Matcher m = Pattern.compile("(?m)^vigil_inference_duration_seconds_count\\{model=\"emb\"} (\\S+)$")
                .matcher(Http.text(http.get("/metrics")));
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void validIdsRunAndMatchTheTablesByHand() {
        long[] ids = {0, 9, 3, 5};
        int[] types = {0, 1, 1, 0};
        long[] mask = {1, 1, 1, 0};
        HttpResponse<byte[]> r = http.postJson("/v2/models/emb/infer", request(ids, types, mask));
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode y = Http.json(r).get("outputs").get(0).get("data");
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < 2; j++) {
                assertEquals((e(ids[i], j) + t(types[i], j)) * mask[i], y.get(i * 2 + j).asDouble(), 1e-6);
            }
        }
    }

    @Test
    void idsOutsideTheVocabularyAreRefusedBeforeAnyRun() {
        double before = runs();
        refused(request(new long[]{1, VOCAB, 2}, new int[3], ones(3)),
                "'input_ids'", "element 1", "token id " + VOCAB, "0.." + (VOCAB - 1));
        refused(request(new long[]{-1, 2, 2}, new int[3], ones(3)), "'input_ids'", "token id -1");
        refused(request(new long[]{Long.MAX_VALUE}, new int[1], ones(1)), "token id " + Long.MAX_VALUE);
        refused(request(new long[]{1, 2, 3}, new int[]{0, 0, 2}, ones(3)), "'token_type_ids'", "element 2",
                "token id 2", "0..1");
        assertEquals(before, runs(), "the model ran on a refused request");
    }

    @Test
    void tokenAxisOverTheLimitAndDisagreeingLengthsAreRefused() {
        double before = runs();
        refused(request(new long[MAX_TOKENS + 1], new int[MAX_TOKENS + 1], ones(MAX_TOKENS + 1)), "'input_ids'",
                (MAX_TOKENS + 1) + " tokens", "max_sequence_length " + MAX_TOKENS);
        refused(request(new long[6], new int[6], ones(7)), "'input_ids'", "'attention_mask'", "6", "7",
                "'sequence'");
        refused(request(new long[4], new int[5], ones(4)), "'token_type_ids'", "'sequence'");
        assertEquals(before, runs(), "the model ran on a refused request");
        // at the limit it runs
        assertEquals(200, http.postJson("/v2/models/emb/infer",
                request(new long[MAX_TOKENS], new int[MAX_TOKENS], ones(MAX_TOKENS))).statusCode());
    }

    @Test
    void axesNamedAfterTheBatchAreTreatedAsUnnamedTokenAxes() {
        assertEquals(200, http.postJson("/v2/models/emb-batch-named/infer",
                request(new long[]{1, 2, 3}, new int[3], ones(3))).statusCode());
        refusedBy("emb-batch-named", request(new long[6], new int[6], ones(7)), "'input_ids'", "'attention_mask'",
                "'sequence'");
        refusedBy("emb-batch-named", request(new long[MAX_TOKENS + 1], new int[MAX_TOKENS + 1], ones(MAX_TOKENS + 1)),
                "max_sequence_length " + MAX_TOKENS);
        refusedBy("emb-batch-named", request(new long[]{VOCAB}, new int[1], ones(1)), "0.." + (VOCAB - 1));
    }

    /** The embedding model, its input axes named as given. */
    private static ModelProto embeddingModel(String batch, String sequence) {
        TensorProto.Builder table = TensorProto.newBuilder().setName("E").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(VOCAB).addDims(2);
        for (int id = 0; id < VOCAB; id++) {
            table.addFloatData(e(id, 0)).addFloatData(e(id, 1));
        }
        TensorProto.Builder types = TensorProto.newBuilder().setName("T").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(2).addDims(2);
        for (int type = 0; type < 2; type++) {
            types.addFloatData(t(type, 0)).addFloatData(t(type, 1));
        }
        TensorProto axes = TensorProto.newBuilder().setName("axes").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(1).addInt64Data(-1).build();
        GraphProto graph = GraphProto.newBuilder().setName("emb")
                .addInput(value("input_ids", TensorProto.DataType.INT64_VALUE, batch, sequence))
                .addInput(value("token_type_ids", TensorProto.DataType.INT32_VALUE, batch, sequence))
                .addInput(value("attention_mask", TensorProto.DataType.INT64_VALUE, batch, sequence))
                .addOutput(value("y", TensorProto.DataType.FLOAT_VALUE, batch, sequence, "2"))
                .addInitializer(table).addInitializer(types).addInitializer(axes)
                .addNode(node("Gather", new String[]{"E", "input_ids"}, "we"))
                .addNode(cast("token_type_ids", "types64", TensorProto.DataType.INT64_VALUE))
                .addNode(node("Gather", new String[]{"T", "types64"}, "te"))
                .addNode(node("Add", new String[]{"we", "te"}, "sum"))
                .addNode(cast("attention_mask", "maskf", TensorProto.DataType.FLOAT_VALUE))
                .addNode(node("Unsqueeze", new String[]{"maskf", "axes"}, "mask3"))
                .addNode(node("Mul", new String[]{"sum", "mask3"}, "y"))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
    }

    private static NodeProto node(String op, String[] inputs, String output) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(output).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        return n.build();
    }

    private static NodeProto cast(String input, String output, int to) {
        return node("Cast", new String[]{input}, output).toBuilder().addAttribute(AttributeProto.newBuilder()
                .setName("to").setType(AttributeProto.AttributeType.INT).setI(to)).build();
    }

    /** A tensor value; a dim that parses as a number is fixed, any other is a named dynamic axis. */
    private static ValueInfoProto value(String name, int elemType, String... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (String d : dims) {
            shape.addDim(d.matches("\\d+") ? TensorShapeProto.Dimension.newBuilder().setDimValue(Long.parseLong(d))
                    : TensorShapeProto.Dimension.newBuilder().setDimParam(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
