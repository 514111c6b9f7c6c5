package dev.vigil.tests.grafana;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A Prometheus server started for a test: the {@code prometheus} binary on the PATH, bound to
 * 127.0.0.1 on a free port, with its own temporary storage and a generated configuration that
 * scrapes one target as job {@code vigil} (the job name grafana/prometheus.yml and the alert rules use), with native
 * histograms enabled (so it scrapes the protobuf format, which carries {@code vigil_quant_abs_value}'s buckets).
 * Closing it stops the process and deletes the temporary directory.
 */
final class PrometheusProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final Path dir;
    private final URI uri;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PrometheusProcess(Process process, Path dir, URI uri) {
        this.process = process;
        this.dir = dir;
        this.uri = uri;
    }

    /** Whether a {@code prometheus} executable is on the PATH. */
    static boolean available() {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "prometheus")));
    }

    /** A TCP port that was free on the loopback interface a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts Prometheus on a free port scraping {@code target} (host:port) and waits until it is ready. */
    static PrometheusProcess start(String target, Duration scrapeInterval, Path... ruleFiles)
            throws IOException, InterruptedException {
        return start(freePort(), target, scrapeInterval, ruleFiles);
    }

    /**
     * Starts Prometheus on {@code port} (so that a caller can make it scrape itself), scraping
     * {@code target} every {@code scrapeInterval} and evaluating {@code ruleFiles}; waits until ready.
     */
    static PrometheusProcess start(int port, String target, Duration scrapeInterval, Path... ruleFiles)
            throws IOException, InterruptedException {
        String interval = scrapeInterval.toMillis() + "ms";
        StringBuilder config = new StringBuilder()
                .append("global:\n")
                .append("  scrape_interval: ").append(interval).append('\n')
                .append("  evaluation_interval: ").append(interval).append('\n');
        if (ruleFiles.length > 0) {
            config.append("rule_files:\n");
            for (Path rules : ruleFiles) {
                config.append("  - '").append(rules.toAbsolutePath()).append("'\n");
            }
        }
        config.append("scrape_configs:\n")
                .append("  - job_name: vigil\n")
                .append("    static_configs:\n")
                .append("      - targets: ['").append(target).append("']\n");
        return startWithConfig(port, config.toString());
    }

    /**
     * Starts Prometheus on {@code port} with a whole configuration file's text (rule files as absolute paths)
     * and waits until it is ready.
     */
    static PrometheusProcess startWithConfig(int port, String config) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("vigil-prometheus");
        Path configFile = Files.writeString(dir.resolve("prometheus.yml"), config);
        Path log = dir.resolve("prometheus.log");
        Process process = new ProcessBuilder("prometheus",
                "--config.file=" + configFile,
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--enable-feature=native-histograms")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        PrometheusProcess prometheus = new PrometheusProcess(process, dir, URI.create("http://127.0.0.1:" + port));
        try {
            prometheus.awaitReady(log);
        } catch (IOException | InterruptedException | RuntimeException e) {
            prometheus.close();
            throw e;
        }
        return prometheus;
    }

    private void awaitReady(Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("prometheus exited with " + process.exitValue() + ":\n" + tail(log));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(uri.resolve("/-/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // Expected until the web server binds its port.
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("prometheus not ready after " + READY_TIMEOUT + ":\n" + tail(log));
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    /** The server's base URI, e.g. {@code http://127.0.0.1:41234}. */
    URI uri() {
        return uri;
    }

    /**
     * GETs an HTTP API path (e.g. {@code /api/v1/rules}) and returns its {@code data}; throws
     * {@link IllegalStateException} with Prometheus' own message when the status is not success.
     */
    JsonNode api(String pathAndQuery) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri.resolve(pathAndQuery))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(r.body());
        if (!"success".equals(body.path("status").asText())) {
            throw new IllegalStateException(pathAndQuery + " -> HTTP " + r.statusCode() + ": "
                    + body.path("errorType").asText() + ": " + body.path("error").asText());
        }
        return body.path("data");
    }

    /** Runs an instant query now and returns its result (an array for a vector). */
    JsonNode query(String promql) throws IOException, InterruptedException {
        return api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)).path("result");
    }

    /** Repeats an instant query until it returns a non-empty result, or throws after {@code timeout}. */
    JsonNode awaitResult(String promql, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode result = query(promql);
            if (!result.isEmpty()) {
                return result;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no result for " + promql + " after " + timeout);
            }
            Thread.sleep(200);
        }
    }

    /** Stops the process (SIGTERM, then SIGKILL after 10 s) and deletes its storage and config. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(files.sorted(Comparator.reverseOrder()).toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete " + dir, e);
        }
    }
}
