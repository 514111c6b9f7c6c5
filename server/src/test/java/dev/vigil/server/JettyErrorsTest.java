package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests that Jetty refuses below the application, written byte for byte on a socket: every reply is a 4xx
 * with a JSON {@code {"error": ...}} that names the problem, never Jetty's HTML page.
 */
class JettyErrorsTest {
    private static final int MAX_HEADER = 4096;

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static RawHttp raw;

    @BeforeAll
    static void start() throws IOException {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).maxHeaderBytes(MAX_HEADER).build());
        raw = new RawHttp(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static final String GOOD_BODY = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3]}]}";

    /** The reply is the status, in JSON, with an error naming each fragment (case-insensitive). */
    private static void assertJsonError(RawHttp.Reply r, int status, String... fragments) throws IOException {
        assertEquals(status, r.status(), r.text());
        assertTrue(r.header("content-type") != null && r.header("content-type").startsWith("application/json"),
                "content type " + r.header("content-type") + " of " + r.text());
        JsonNode error = Http.JSON.readTree(r.body()).get("error");
        assertTrue(error != null && error.isTextual() && !error.asText().isBlank(), r.text());
        for (String f : fragments) {
            assertTrue(error.asText().toLowerCase().contains(f.toLowerCase()),
                    "'" + error.asText() + "' should name '" + f + "'");
        }
        RawHttp.Reply ok = raw.exchange("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                + "Content-Length: " + GOOD_BODY.length() + "\r\n\r\n" + GOOD_BODY);
        assertEquals(200, ok.status(), "the server still serves after the error: " + ok.text());
    }

    private static RawHttp.Reply send(String request) {
        return raw.exchange(request);
    }

    @Test
    void malformedRequestLine() throws IOException {
        assertJsonError(send("GARBAGE\r\n\r\n"), 400);
        assertJsonError(send("GET /v2 FOO/1.1\r\nHost: t\r\n\r\n"), 400, "HTTP version");
    }

    @Test
    void controlCharacterInAHeader() throws IOException {
        assertJsonError(send("GET /v2 HTTP/1.1\r\nHost: t\r\nX-Bad: a\u0001b\r\n\r\n"), 400, "illegal character");
    }

    @Test
    void badNegativeAndDuplicateContentLength() throws IOException {
        String post = "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\n";
        assertJsonError(send(post + "Content-Length: abc\r\n\r\n{}"), 400, "content-length");
        assertJsonError(send(post + "Content-Length: -5\r\n\r\n{}"), 400, "content-length");
        assertJsonError(send(post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} "), 400, "content-length");
    }

    @Test
    void contentLengthTogetherWithChunked() throws IOException {
        assertJsonError(send("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), 400, "transfer-encoding");
    }

    @Test
    void compressedBody() throws IOException {
        String post = "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
        String gzip = "\u001f\u008b\u0008\u0000\u0000\u0000\u0000\u0000\u0000\u0003";
        assertJsonError(send(post + "Content-Encoding: gzip\r\nContent-Length: " + gzip.length() + "\r\n\r\n"
                + gzip), 415, "gzip", "uncompressed");
        RawHttp.Reply identity = send(post + "Content-Encoding: identity\r\nContent-Length: " + GOOD_BODY.length()
                + "\r\n\r\n" + GOOD_BODY);
        assertEquals(200, identity.status(), identity.text());
    }

    @Test
    void nulInThePath() throws IOException {
        assertJsonError(send("GET /v2/models/ml%00p HTTP/1.1\r\nHost: t\r\n\r\n"), 400);
    }

    @Test
    void duplicateHost() throws IOException {
        assertJsonError(send("GET /v2 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "host");
    }

    @Test
    void foldedHeader() throws IOException {
        assertJsonError(send("GET /v2 HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n  b\r\n\r\n"), 400, "fold");
    }

    @Test
    void headersOverTheLimit() throws IOException {
        assertJsonError(send("GET /v2 HTTP/1.1\r\nHost: t\r\nX-Big: " + "a".repeat(MAX_HEADER) + "\r\n\r\n"), 431,
                Integer.toString(MAX_HEADER), "--max-header-bytes");
    }

    @Test
    void uriOverTheLimit() throws IOException {
        assertJsonError(send("GET /v2/" + "a".repeat(MAX_HEADER) + " HTTP/1.1\r\nHost: t\r\n\r\n"), 414,
                Integer.toString(MAX_HEADER), "--max-header-bytes");
    }

    @Test
    void http2PrefaceAndRequestLine() throws IOException {
        RawHttp.Reply preface = send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assertTrue(preface.status() == 426 || preface.status() == 400, preface.text());
        assertJsonError(preface, preface.status());
        RawHttp.Reply h2 = send("GET /v2 HTTP/2.0\r\nHost: t\r\n\r\n");
        assertTrue(h2.status() == 426 || h2.status() == 400, h2.status() + " " + h2.text());
        assertJsonError(h2, h2.status());
    }

    @Test
    void unknownRouteIs404() throws IOException {
        assertJsonError(send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"), 404, "/nowhere");
        assertJsonError(send("DELETE /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"), 404, "DELETE", "/nowhere");
        assertJsonError(send("POST /v2/models/mlp/nothing HTTP/1.1\r\nHost: t\r\n\r\n"), 404, "/nothing");
    }

    @Test
    void wrongMethodOnAKnownRouteIs405WithAllow() throws IOException {
        assertMethodNotAllowed("DELETE", "/v2/models/mlp/infer", "POST");
        assertMethodNotAllowed("GET", "/v2/models/mlp/infer", "POST");
        assertMethodNotAllowed("GET", "/v2/models/mlp/versions/1/infer", "POST");
        assertMethodNotAllowed("DELETE", "/v2/health/live", "GET");
        assertMethodNotAllowed("POST", "/v2/models/mlp", "GET");
        assertMethodNotAllowed("PUT", "/metrics", "GET");
        assertMethodNotAllowed("GET", "/v2/repository/index", "POST");
        assertMethodNotAllowed("BREW", "/v2", "GET");
    }

    private void assertMethodNotAllowed(String method, String path, String allowed) throws IOException {
        RawHttp.Reply r = send(method + " " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
        assertEquals(allowed, r.header("allow"), method + " " + path + ": " + r.text());
        assertJsonError(r, 405, method, path, "allowed: " + allowed);
    }

    @Test
    void aBodyShorterThanItsContentLengthIs400AtOnce() throws IOException {
        RawHttp.Reply r = raw.exchange(("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
                + "0123456789").getBytes(StandardCharsets.ISO_8859_1), true);
        assertJsonError(r, 400, "ended early", "10 of 100 bytes");
        assertTrue(r.millis() < 10_000, "answered when the client closed, not after the idle timeout: " + r.millis());
    }

    @Test
    void aTruncatedChunkedBodyIs400AtOnce() throws IOException {
        RawHttp.Reply r = raw.exchange(("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n20\r\n{\"inputs\"").getBytes(StandardCharsets.ISO_8859_1), true);
        assertJsonError(r, 400, "chunked request body ended early");
        assertTrue(r.millis() < 10_000, "answered when the client closed: " + r.millis());
    }

    @Test
    void aBrokenChunkIs400() throws IOException {
        String head = "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        assertJsonError(send(head + "zz\r\n{}\r\n0\r\n\r\n"), 400, "chunked", "malformed");
        assertJsonError(send(head + "2\r\n{}XX0\r\n\r\n"), 400, "chunked", "malformed");
    }
}
