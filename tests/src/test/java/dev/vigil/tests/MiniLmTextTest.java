package dev.vigil.tests;

import dev.vigil.server.Http;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MiniLM text path against an independent implementation: Vigil's token embeddings, mean-pooled over the
 * attention mask and L2-normalised here, must match langchain4j's own {@code AllMiniLmL6V2EmbeddingModel}
 * (its own tokenizer, ORT session and pooling) for each sentence.
 */
class MiniLmTextTest {
    static final String MODEL = "all-minilm-l6-v2";
    static final Path MODELS = Path.of("..", "models");
    private static final String INFER = "/v2/models/" + MODEL + "/infer";

    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Vigil serves ONNX models over HTTP.",
            "Hello!",
            "a",
            "What is the capital of France?",
            "Paris is the capital and most populous city of France, with an estimated population of 2,102,650.",
            "I can't believe it's not butter.",
            "Machine learning models can exhibit massive activations in specific channels.",
            "¿Dónde está la biblioteca?",
            "Die Katze sitzt auf der Matte.",
            "東京は日本の首都です。",
            "E = mc^2 and F = ma are famous equations.",
            "The price rose 12.5% to $1,234.56 on 2024-03-01.",
            "   leading and trailing spaces   ",
            "UPPERCASE SENTENCES ARE TOKENIZED IN LOWER CASE",
            "emoji 🙂 and symbols ©®™ appear here",
            "don't; won't: shouldn't, couldn't!",
            "Attention sinks concentrate probability mass on the first token of a sequence, which "
                    + "lets heads that have nothing to attend to park their attention there without "
                    + "disturbing the residual stream very much.",
            "https://example.com/path?query=1&other=two",
            "Line one.\nLine two.\tTabbed.",
            "The the the the the the the the the the",
            "Quantization ranges depend on outliers.");

    private static VigilServer server;
    private static Http http;
    private static AllMiniLmL6V2EmbeddingModel reference;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isRegularFile(MODELS.resolve(MODEL).resolve("model.onnx")),
                "the MiniLM model is unpacked by the server build: run mvn -pl server install first");
        server = new VigilServer(TestServers.cpu(MODELS).build());
        http = new Http(server.start());
        reference = new AllMiniLmL6V2EmbeddingModel();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Mean over unmasked rows of one sequence's token embeddings, then L2-normalised, in double precision. */
    static double[] meanPoolNormalize(JsonNode hidden, JsonNode mask, int row, int seqLen, int dim) {
        double[] sum = new double[dim];
        int count = 0;
        for (int t = 0; t < seqLen; t++) {
            if (mask.get(row * seqLen + t).asLong() == 0) {
                continue;
            }
            count++;
            int base = (row * seqLen + t) * dim;
            for (int j = 0; j < dim; j++) {
                sum[j] += hidden.get(base + j).asDouble();
            }
        }
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            sum[j] /= count;
            norm += sum[j] * sum[j];
        }
        norm = Math.sqrt(norm);
        for (int j = 0; j < dim; j++) {
            sum[j] /= norm;
        }
        return sum;
    }

    static double cosine(double[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    private static String textRequest(List<String> texts) {
        ObjectNode req = Http.JSON.createObjectNode();
        ObjectNode in = req.putArray("inputs").addObject();
        in.put("name", "text").put("datatype", "BYTES").putArray("shape").add(texts.size());
        ArrayNode data = in.putArray("data");
        texts.forEach(data::add);
        ArrayNode outputs = req.putArray("outputs");
        outputs.addObject().put("name", "output_0");
        outputs.addObject().put("name", "attention_mask");
        return req.toString();
    }

    @Test
    void metadataNamesTheModelsInputsAndOutputs() {
        JsonNode meta = Http.json(http.get("/v2/models/" + MODEL));
        List<String> inputs = new java.util.ArrayList<>();
        meta.get("inputs").forEach(in -> inputs.add(in.get("name").asText() + " " + in.get("datatype").asText()
                + " " + in.get("shape")));
        assertEquals(List.of("input_ids INT64 [-1,-1]", "attention_mask INT64 [-1,-1]",
                "token_type_ids INT64 [-1,-1]", "text BYTES [-1]"), inputs);
        assertEquals("output_0", meta.get("outputs").get(0).get("name").asText());
        assertEquals("[-1,-1,384]", meta.get("outputs").get(0).get("shape").toString());
        assertEquals(meta, Http.json(http.get("/v2/models/" + MODEL + "/versions/1")));
    }

    /** A client that builds its request from the metadata's BYTES input alone gets the embedding. */
    @Test
    void theTextInputThatMetadataListsIsServed() {
        JsonNode text = null;
        for (JsonNode in : Http.json(http.get("/v2/models/" + MODEL)).get("inputs")) {
            if (in.get("datatype").asText().equals("BYTES")) {
                text = in;
            }
        }
        assertTrue(text != null, "metadata lists a BYTES input");
        String sentence = SENTENCES.get(0);
        String req = "{\"inputs\":[{\"name\":\"" + text.get("name").asText() + "\",\"datatype\":\"BYTES\","
                + "\"shape\":[1],\"data\":[\"" + sentence + "\"]}]}";
        HttpResponse<byte[]> r = http.postJson("/v2/models/" + MODEL + "/versions/1/infer", req);
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode hidden = Http.json(r).get("outputs").get(0);
        int seqLen = hidden.get("shape").get(1).asInt();
        ArrayNode ones = Http.JSON.createArrayNode();
        for (int t = 0; t < seqLen; t++) {
            ones.add(1);
        }
        double[] vigil = meanPoolNormalize(hidden.get("data"), ones, 0, seqLen, 384);
        assertTrue(cosine(vigil, reference.embed(sentence).content().vector()) >= 0.9999);
    }

    @Test
    void batchedTextMatchesLangchain4jEmbeddings() {
        HttpResponse<byte[]> r = http.postJson(INFER, textRequest(SENTENCES));
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode outputs = Http.json(r).get("outputs");
        JsonNode hidden = outputs.get(0);
        JsonNode mask = outputs.get(1);
        assertEquals("output_0", hidden.get("name").asText());
        assertEquals("attention_mask", mask.get("name").asText());
        int batch = hidden.get("shape").get(0).asInt();
        int seqLen = hidden.get("shape").get(1).asInt();
        int dim = hidden.get("shape").get(2).asInt();
        assertEquals(SENTENCES.size(), batch);
        assertEquals(384, dim);
        assertEquals(seqLen, mask.get("shape").get(1).asInt());
        int padded = 0;
        for (int i = 0; i < batch; i++) {
            double[] vigil = meanPoolNormalize(hidden.get("data"), mask.get("data"), i, seqLen, dim);
            float[] expected = reference.embed(SENTENCES.get(i)).content().vector();
            double cos = cosine(vigil, expected);
            assertTrue(cos >= 0.9999, "sentence " + i + " '" + SENTENCES.get(i) + "': cosine " + cos);
            padded += mask.get("data").get(i * seqLen + seqLen - 1).asLong() == 0 ? 1 : 0;
        }
        assertTrue(padded > 10, "the batch mixes lengths, so most rows are padded");
    }

    @Test
    void singleSentenceRequestsMatchToo() {
        for (String s : SENTENCES.subList(0, 5)) {
            HttpResponse<byte[]> r = http.postJson(INFER, textRequest(List.of(s)));
            assertEquals(200, r.statusCode(), Http.text(r));
            JsonNode out = Http.json(r).get("outputs");
            int seqLen = out.get(0).get("shape").get(1).asInt();
            double[] vigil = meanPoolNormalize(out.get(0).get("data"), out.get(1).get("data"), 0, seqLen, 384);
            assertTrue(cosine(vigil, reference.embed(s).content().vector()) >= 0.9999, s);
        }
    }

    /** The same text as binary BYTES (4-byte little-endian length per element) gives the same tensor. */
    @Test
    void binaryTextInputAndTokenTensorsGiveTheSameResult() throws Exception {
        List<String> texts = SENTENCES.subList(5, 9);
        JsonNode viaJson = Http.json(http.postJson(INFER, textRequest(texts))).get("outputs").get(0).get("data");
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        for (String t : texts) {
            byte[] b = t.getBytes(StandardCharsets.UTF_8);
            strings.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            strings.write(b);
        }
        byte[] header = ("{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[" + texts.size()
                + "],\"parameters\":{\"binary_data_size\":" + strings.size() + "}}],"
                + "\"outputs\":[{\"name\":\"output_0\"},{\"name\":\"input_ids\"}]}").getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        body.write(strings.toByteArray());
        HttpResponse<byte[]> r = http.post(INFER, body.toByteArray(), "Inference-Header-Content-Length",
                Integer.toString(header.length));
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode out = Http.json(r).get("outputs");
        assertEquals(viaJson, out.get(0).get("data"));

        // the echoed token ids, sent back as INT64 tensors, reproduce the text request's output
        JsonNode ids = out.get(1);
        int rows = ids.get("shape").get(0).asInt();
        int cols = ids.get("shape").get(1).asInt();
        JsonNode mask = Http.json(http.postJson(INFER, textRequest(texts))).get("outputs").get(1).get("data");
        ObjectNode req = Http.JSON.createObjectNode();
        ArrayNode inputs = req.putArray("inputs");
        for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            ObjectNode in = inputs.addObject();
            in.put("name", name).put("datatype", "INT64").putArray("shape").add(rows).add(cols);
            ArrayNode data = in.putArray("data");
            for (int i = 0; i < rows * cols; i++) {
                data.add(name.equals("input_ids") ? ids.get("data").get(i).asLong()
                        : name.equals("attention_mask") ? mask.get(i).asLong() : 0L);
            }
        }
        req.putArray("outputs").addObject().put("name", "output_0");
        HttpResponse<byte[]> tensor = http.postJson(INFER, req.toString());
        assertEquals(200, tensor.statusCode(), Http.text(tensor));
        JsonNode viaTensors = Http.json(tensor).get("outputs").get(0).get("data");
        assertEquals(viaJson.size(), viaTensors.size());
        for (int i = 0; i < viaJson.size(); i++) {
            assertEquals(viaJson.get(i).asDouble(), viaTensors.get(i).asDouble(), 1e-5);
        }
    }

    @Test
    void textLongerThanTheSequenceLimitIsRejectedThenServingContinues() {
        String longText = "word ".repeat(600);
        HttpResponse<byte[]> r = http.postJson(INFER, textRequest(List.of("short", longText)));
        assertEquals(400, r.statusCode());
        String error = Http.json(r).get("error").asText();
        assertTrue(error.contains("input 'text' element 1 has 602 tokens, more than max_sequence_length 512"),
                error);
        assertEquals(200, http.postJson(INFER, textRequest(List.of("short"))).statusCode());
    }

    @Test
    void tooManyTextsIsRejected() {
        List<String> many = java.util.Collections.nCopies(33, "x");
        HttpResponse<byte[]> r = http.postJson(INFER, textRequest(many));
        assertEquals(400, r.statusCode());
        assertTrue(Http.json(r).get("error").asText().contains("batch size 33, more than max_batch_size 32"));
        HttpResponse<byte[]> two = http.postJson(INFER, "{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\","
                + "\"shape\":[1],\"data\":[\"a\"]},{\"name\":\"more\",\"datatype\":\"BYTES\",\"shape\":[1],"
                + "\"data\":[\"b\"]}]}");
        assertEquals(400, two.statusCode());
        assertTrue(Http.json(two).get("error").asText().contains("exactly one BYTES input"));
        HttpResponse<byte[]> maskOnly = http.postJson(INFER, "{\"inputs\":[{\"name\":\"text\",\"datatype\":"
                + "\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}],\"outputs\":[{\"name\":\"attention_mask\"}]}");
        assertEquals(400, maskOnly.statusCode());
        assertTrue(Http.json(maskOnly).get("error").asText().contains("ask for at least one model output"));
        assertEquals(200, http.postJson(INFER, textRequest(List.of("fine"))).statusCode());
    }

    @Test
    void tokensAreCounted() {
        HttpResponse<byte[]> r = http.postJson(INFER, textRequest(List.of("count these tokens")));
        assertEquals(200, r.statusCode());
        String metrics = Http.text(http.get("/metrics"));
        assertTrue(metrics.matches("(?s).*vigil_tokens_total\\{model=\"all-minilm-l6-v2\"} [1-9].*"), metrics);
    }
}
