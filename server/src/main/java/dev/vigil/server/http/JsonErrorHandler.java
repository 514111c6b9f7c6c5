package dev.vigil.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * Jetty's error replies as {@code {"error": "..."}}: a request Jetty refuses before the application sees it (a
 * malformed request line or header, a header or URI over the limit) and any error Jetty answers itself. Jetty's
 * own pages are HTML, which clients of a JSON API cannot read.
 */
public final class JsonErrorHandler extends ErrorHandler {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int maxHeaderBytes;

    /** @param maxHeaderBytes the request header limit, named in 431 and 414 replies */
    public JsonErrorHandler(int maxHeaderBytes) {
        this.maxHeaderBytes = maxHeaderBytes;
    }

    /** Requests Jetty refuses while parsing them: the reply is built here, before any servlet runs. */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(body(status, reason));
    }

    /** Errors Jetty answers for a request that reached it whole (sendError, an exception Jetty caught). */
    @Override
    public void handle(String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response)
            throws IOException {
        baseRequest.setHandled(true);
        if (response.isCommitted()) {
            return;
        }
        Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        String reason = message instanceof String s ? s : baseRequest.getResponse().getReason();
        byte[] body = body(response.getStatus(), reason);
        response.setContentType("application/json");
        response.setContentLength(body.length);
        try (OutputStream out = response.getOutputStream()) {
            out.write(body);
        }
    }

    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    private byte[] body(int status, String reason) {
        try {
            return JSON.writeValueAsBytes(Map.of("error", message(status, reason)));
        } catch (JsonProcessingException e) {
            return "{\"error\":\"unserializable error\"}".getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The status's meaning, Jetty's reason when it says more, and the limit when one was crossed. */
    String message(int status, String reason) {
        String meaning = HttpStatus.getMessage(status);
        StringBuilder m = new StringBuilder(meaning.toLowerCase(Locale.ROOT));
        if (reason != null && !reason.isBlank() && !reason.equalsIgnoreCase(meaning)) {
            m.append(": ").append(reason);
        }
        if (status == HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431 || status == HttpStatus.URI_TOO_LONG_414) {
            m.append(" (the request line and headers may take ").append(maxHeaderBytes)
                    .append(" bytes; --max-header-bytes)");
        }
        return m.toString();
    }
}
