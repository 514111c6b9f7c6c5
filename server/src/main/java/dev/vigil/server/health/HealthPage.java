package dev.vigil.server.health;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.server.probe.ProbeLayer;
import io.javalin.Javalin;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.function.Function;

/**
 * The built-in health page: {@code GET /} (plain HTML, CSS and JavaScript served from the jar, no external
 * resources) and the JSON it polls, {@code GET /api/health} ({@link HealthView}).
 */
public final class HealthPage {
    /** The JSON endpoint the page polls. */
    public static final String API_PATH = "/api/health";
    private static final String RESOURCES = "/vigil-ui/";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ProbeLayer probes;
    private final Function<String, JsonNode> quantAdvice;
    private final byte[] html = resource("index.html");
    private final byte[] script = resource("health.js");
    private final byte[] style = resource("health.css");

    /**
     * A page over the statistics of this probe layer.
     *
     * @param quantAdvice a model's last quantization advice ({@code /quantized/report}); null before the first
     */
    public HealthPage(ProbeLayer probes, Function<String, JsonNode> quantAdvice) {
        this.probes = probes;
        this.quantAdvice = quantAdvice;
    }

    /** Adds the page's routes: {@code /}, {@code /vigil-ui/health.js}, {@code /vigil-ui/health.css} and the JSON. */
    public void register(Javalin app) {
        app.get("/", ctx -> send(ctx, "text/html; charset=utf-8", html));
        app.get(RESOURCES + "health.js", ctx -> send(ctx, "text/javascript; charset=utf-8", script));
        app.get(RESOURCES + "health.css", ctx -> send(ctx, "text/css; charset=utf-8", style));
        app.get(API_PATH, ctx -> send(ctx, "application/json",
                JSON.writeValueAsBytes(HealthView.of(probes.snapshots(), quantAdvice, Instant.now()))));
    }

    private static void send(Context ctx, String type, byte[] body) {
        ctx.status(200).contentType(type).header("Cache-Control", "no-cache").result(body);
    }

    private static byte[] resource(String name) {
        try (InputStream in = HealthPage.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("health page resource " + RESOURCES + name + " missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
