package dev.vigil.server.errors;

import dev.vigil.server.serving.ServingMetrics;

/**
 * A request that cannot be served, with the HTTP status, the message sent back as {@code {"error": ...}} and the
 * outcome it counts as in {@code vigil_requests_total}. Every 503 says which kind it is: {@link #overloaded} (the
 * server refuses work it has no room for) or {@link #unavailable} (the model is not ready).
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final ServingMetrics.Outcome outcome;

    /** An error whose outcome follows from its status: 4xx a client error, 5xx a server error. */
    public ApiException(int status, String message) {
        this(status, message, ServingMetrics.Outcome.of(status));
    }

    private ApiException(int status, String message, ServingMetrics.Outcome outcome) {
        super(message, null, false, false);
        this.status = status;
        this.outcome = outcome;
    }

    /** 503 for work refused for lack of room (inference slots, queue, body byte budget); outcome {@code overloaded}. */
    public static ApiException overloaded(String message) {
        return new ApiException(503, message, ServingMetrics.Outcome.OVERLOADED);
    }

    /** 503 for a model that is not ready; outcome {@code unavailable}. */
    public static ApiException unavailable(String message) {
        return new ApiException(503, message, ServingMetrics.Outcome.UNAVAILABLE);
    }

    /** 400 for a request that does not fit the protocol or the model. */
    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }

    /** The HTTP status to answer with. */
    public int status() {
        return status;
    }

    /** What the request counts as in {@code vigil_requests_total}. */
    public ServingMetrics.Outcome outcome() {
        return outcome;
    }
}
