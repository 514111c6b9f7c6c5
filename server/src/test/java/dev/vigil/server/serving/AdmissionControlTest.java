package dev.vigil.server.serving;

import dev.vigil.server.errors.ApiException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionControlTest {

    @Test
    void refusesWhenSlotsAndQueueAreFullAndRecoversAfterRelease() {
        AdmissionControl control = new AdmissionControl(2, 0, 1000);
        AdmissionControl.Permit a = control.acquire();
        AdmissionControl.Permit b = control.acquire();
        ApiException full = assertThrows(ApiException.class, control::acquire);
        assertEquals(503, full.status());
        assertTrue(full.getMessage().contains("2 requests in flight and 0 waiting"));
        a.close();
        control.acquire().close();
        b.close();
    }

    @Test
    void aQueuedRequestGetsTheFreedSlotAndTheQueueIsBounded() throws Exception {
        AdmissionControl control = new AdmissionControl(1, 1, 10_000);
        AdmissionControl.Permit held = control.acquire();
        CountDownLatch admitted = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try (AdmissionControl.Permit p = control.acquire()) {
                admitted.countDown();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        waiter.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (control.queued() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(1, control.queued(), "the waiter is queued");
        ApiException refused = assertThrows(ApiException.class, control::acquire);
        assertEquals(503, refused.status());
        assertTrue(refused.getMessage().contains("1 waiting"));
        held.close();
        assertTrue(admitted.await(5, TimeUnit.SECONDS));
        waiter.join();
        assertEquals(null, failure.get());
    }

    @Test
    void waitingTooLongIs503() {
        AdmissionControl control = new AdmissionControl(1, 4, 50);
        try (AdmissionControl.Permit held = control.acquire()) {
            ApiException e = assertThrows(ApiException.class, control::acquire);
            assertEquals(503, e.status());
            assertTrue(e.getMessage().contains("within 50 ms"));
        }
    }
}
