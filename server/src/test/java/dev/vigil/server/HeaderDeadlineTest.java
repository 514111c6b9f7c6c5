package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deadline on a request's line and headers (slowloris): a client that stops mid-headers, or sends them a byte
 * at a time so that the idle timeout never fires, gets 408 JSON and a closed connection at the deadline; a
 * keep-alive connection that waits longer than the deadline between requests is not affected (the deadline runs
 * from a request's first byte).
 */
@Timeout(60)
class HeaderDeadlineTest {
    private static final long HEADER_TIMEOUT_MS = 1000;
    private static final String HEAD = "GET /v2/health/ready HTTP/1.1\r\nHost: t\r\n";

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static int port;

    @BeforeAll
    static void start() throws IOException {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).probeWarmUpMs(0)
                .headerTimeoutMs(HEADER_TIMEOUT_MS).idleTimeoutMs(30_000).build());
        port = server.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void send(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static void assert408(RawHttp.Reply reply) {
        assertEquals(408, reply.status(), reply.text());
        JsonNode body = parse(reply.text());
        assertTrue(body.path("error").asText().contains("--header-timeout-ms"), reply.text());
        assertEquals("close", reply.header("Connection"));
    }

    private static JsonNode parse(String text) {
        try {
            return Http.JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError(text, e);
        }
    }

    @Test
    void aClientThatStopsMidHeadersGets408AtTheDeadline() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            long t0 = System.nanoTime();
            send(s.getOutputStream(), HEAD + "X-Partial: ab");
            RawHttp.Reply reply = RawHttp.read(s.getInputStream());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assert408(reply);
            assertTrue(ms >= HEADER_TIMEOUT_MS - 50 && ms < HEADER_TIMEOUT_MS + 5_000, ms + " ms");
            assertEquals(-1, s.getInputStream().read(), "the connection is closed");
        }
    }

    @Test
    void aClientThatTricklesItsHeadersIsCutOffAtTheDeadlineThoughNeverIdle() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(100);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            send(out, HEAD + "X-Slow: ");
            long t0 = System.nanoTime();
            StringBuilder got = new StringBuilder();
            boolean closed = false;
            while (!closed && System.nanoTime() - t0 < 10_000_000_000L) {
                try {
                    send(out, "a");
                    int b;
                    while ((b = in.read()) >= 0) {
                        got.append((char) b);
                    }
                    closed = true;
                } catch (SocketTimeoutException e) {
                    // nothing yet: trickle on
                } catch (SocketException e) {
                    closed = true;
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(closed, "still open after " + ms + " ms of a byte every 100 ms");
            assertTrue(ms < HEADER_TIMEOUT_MS + 5_000, ms + " ms");
            assertTrue(got.isEmpty() || got.toString().startsWith("HTTP/1.1 408 "), got.toString());
        }
    }

    @Test
    void aKeepAliveConnectionMayWaitLongerThanTheDeadlineBetweenRequests() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            send(s.getOutputStream(), HEAD + "\r\n");
            assertEquals(200, RawHttp.read(s.getInputStream()).status());
            Thread.sleep(HEADER_TIMEOUT_MS + 500);
            send(s.getOutputStream(), HEAD + "\r\n");
            assertEquals(200, RawHttp.read(s.getInputStream()).status());
        }
    }
}
