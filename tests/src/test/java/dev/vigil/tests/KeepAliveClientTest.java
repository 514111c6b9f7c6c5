package dev.vigil.tests;

import ai.onnxruntime.OrtSession;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.SessionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ServingBench's client and reply check against the real server on MiniLM: the keep-alive client reads the same
 * bytes as the JDK's HTTP client, for a binary reply with its Content-Length and a chunked all-JSON one, keeps its
 * connection across replies, errors included; the check passes bare ONNX Runtime's outputs in either form and
 * fails a reply with one value changed or a non-200 status.
 */
class KeepAliveClientTest {
    private static final String INFER = "/v2/models/" + MiniLmTextTest.MODEL + "/infer";
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static VigilServer server;
    private static Http jdk;
    private static KeepAliveClient client;
    private static Map<String, float[]> reference1;
    private static Map<String, float[]> reference8;

    @BeforeAll
    static void start() throws Exception {
        Path bundled = MiniLmTextTest.MODELS;
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 0);
        try (OrtSession bare = factory.create(Files.readAllBytes(
                bundled.resolve(MiniLmTextTest.MODEL).resolve("model.onnx")))) {
            reference1 = ServingBench.bareOutputs(factory.environment(), bare, ServingBench.tokenIds(1), 1);
            reference8 = ServingBench.bareOutputs(factory.environment(), bare, ServingBench.tokenIds(8), 8);
        }
        server = new VigilServer(TestServers.cpu(ServingBench.probesOffRepository(bundled)).build());
        int port = server.start();
        jdk = new Http(port);
        client = new KeepAliveClient("127.0.0.1", port);
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    @Test
    void binaryReplyHasTheBytesTheJdkClientReadsAndBareOrtOutputs() throws Exception {
        byte[] body = ServingBench.binaryRequest(ServingBench.tokenIds(1), 1);
        String headerLength = Integer.toString(ServingBench.binaryHeader(1).length);
        HttpResponse<byte[]> expected = jdk.post(INFER, body, HEADER_LENGTH, headerLength);
        byte[] request = client.post(INFER, body, HEADER_LENGTH, headerLength);
        for (int i = 0; i < 3; i++) {
            KeepAliveClient.Reply r = client.send(request);
            assertEquals(200, r.status());
            assertEquals(expected.headers().firstValueAsLong(HEADER_LENGTH).orElseThrow(), r.headerLength());
            assertArrayEquals(expected.body(), Arrays.copyOf(r.body(), r.length()));
            ReplyCheck check = new ReplyCheck(reference1);
            check.check(r.status(), r.headerLength(), r.body(), r.length());
            assertEquals(1, check.decoded());
        }
    }

    @Test
    void chunkedJsonReplyIsReadWholeAndMatchesBareOrt() throws Exception {
        byte[] body = ServingBench.jsonRequest(ServingBench.tokenIds(8), 8, false);
        HttpResponse<byte[]> expected = jdk.post(INFER, body);
        assertEquals("chunked", expected.headers().firstValue("Transfer-Encoding").orElse(""),
                "an 8 x 128 x 384 JSON reply is larger than the server's output buffer");
        KeepAliveClient.Reply r = client.send(client.post(INFER, body, "Content-Type", "application/json"));
        assertEquals(-1, r.headerLength());
        assertArrayEquals(expected.body(), Arrays.copyOf(r.body(), r.length()));
        ReplyCheck check = new ReplyCheck(reference8);
        check.check(r.status(), r.headerLength(), r.body(), r.length());
        // the same bytes again pass without being decoded again
        check.check(r.status(), r.headerLength(), r.body(), r.length());
        assertEquals(1, check.decoded());
    }

    @Test
    void errorRepliesKeepTheConnectionAndFailTheCheck() throws Exception {
        byte[] bad = client.post("/v2/models/no-such-model/infer", "{}".getBytes(StandardCharsets.UTF_8));
        KeepAliveClient.Reply r = client.send(bad);
        assertEquals(404, r.status());
        assertTrue(r.text().contains("no-such-model"), r.text());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new ReplyCheck(reference1).check(r.status(), r.headerLength(), r.body(), r.length()));
        assertTrue(e.getMessage().startsWith("404"), e.getMessage());
        KeepAliveClient.Reply ok = client.send(client.post(INFER, ServingBench.binaryRequest(
                ServingBench.tokenIds(1), 1), HEADER_LENGTH, Integer.toString(ServingBench.binaryHeader(1).length)));
        assertEquals(200, ok.status());
    }

    @Test
    void aChangedValueFailsTheCheck() throws Exception {
        byte[] request = client.post(INFER, ServingBench.binaryRequest(ServingBench.tokenIds(1), 1), HEADER_LENGTH,
                Integer.toString(ServingBench.binaryHeader(1).length));
        KeepAliveClient.Reply r = client.send(request);
        ReplyCheck check = new ReplyCheck(reference1);
        check.check(r.status(), r.headerLength(), r.body(), r.length());
        byte[] changed = Arrays.copyOf(r.body(), r.length());
        // the last float's exponent byte (little-endian): far more than the tolerance
        changed[changed.length - 1] ^= 0x01;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> check.check(200, r.headerLength(), changed, changed.length));
        assertTrue(e.getMessage().contains("bare ONNX Runtime gave"), e.getMessage());
    }
}
