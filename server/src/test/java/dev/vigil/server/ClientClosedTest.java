package dev.vigil.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that resets its connection while its request runs: the response, larger than the server's output buffer,
 * cannot be written, and that is the client's doing. It counts as {@code client_error}, never as
 * {@code server_error} (which alerts page on), and the server serves the next request as before.
 */
class ClientClosedTest {
    /** 8,000 rows of y [rows, 2]: a JSON response of about 100 KB, over Jetty's 32 KB output buffer. */
    private static final int ROWS = 8_000;

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;
    private static int port;
    private static final HoldingObserver holding = new HoldingObserver();

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).maxBatchSize(ROWS).build(), holding);
        port = server.start();
        http = new Http(port);
    }

    @AfterAll
    static void stop() {
        holding.release();
        server.close();
    }

    private static String request(String id) {
        StringBuilder sb = new StringBuilder("{\"id\":\"").append(id).append("\",\"inputs\":[{\"name\":\"x\",")
                .append("\"datatype\":\"FP32\",\"shape\":[").append(ROWS).append(",3],\"data\":[");
        for (int i = 0; i < ROWS * 3; i++) {
            sb.append(i == 0 ? "" : ",").append(i % 5 + 0.25);
        }
        return sb.append("]}]}").toString();
    }

    private static double count(String outcome) {
        String text = Http.text(http.get("/metrics"));
        Matcher m = Pattern.compile("(?m)^vigil_requests_total\\{model=\"mlp\",outcome=\"" + outcome + "\"} (\\S+)$")
                .matcher(text);
        assertTrue(m.find(), outcome + " in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aClientThatResetsItsConnectionBeforeItsResponseIsAClientErrorNotAServerError() throws Exception {
        byte[] body = request(HoldingObserver.HOLD).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            assertTrue(holding.awaitRunning(), "the request never ran");
            socket.setSoLinger(true, 0);
        }
        Thread.sleep(200);
        holding.release();
        for (int i = 0; i < 250 && count("client_error") + count("server_error") + count("success") < 1; i++) {
            Thread.sleep(20);
        }
        assertEquals(1, count("client_error"), "the reset connection");
        assertEquals(0, count("server_error"));
        assertEquals(0, count("success"));
        assertEquals(200, http.postJson("/v2/models/mlp/infer", request("next")).statusCode());
        assertEquals(1, count("success"));
    }
}
