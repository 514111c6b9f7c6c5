package dev.vigil.server.memory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * Frees a direct buffer's native memory now rather than at some later garbage collection. Without this, buffers
 * that died long ago keep the process's resident memory high until the heap is collected (the JVM lets direct
 * memory grow to the heap's size by default).
 */
final class DirectBuffers {
    /** {@code sun.misc.Unsafe.invokeCleaner}, bound; null where the JVM does not offer it. */
    private static final MethodHandle CLEANER = cleaner();

    private DirectBuffers() {
    }

    private static MethodHandle cleaner() {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            return MethodHandles.lookup()
                    .findVirtual(unsafeClass, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                    .bindTo(theUnsafe.get(null));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** Whether {@link #free} releases memory at once on this JVM (else the garbage collector does, later). */
    static boolean freesAtOnce() {
        return CLEANER != null;
    }

    /**
     * Frees the memory of a direct buffer that nothing will touch again; it must be the buffer allocated, not a
     * slice or view of it. Heap buffers are left to the collector.
     */
    static void free(ByteBuffer buffer) {
        if (CLEANER == null || !buffer.isDirect()) {
            return;
        }
        try {
            CLEANER.invokeExact(buffer);
        } catch (Throwable e) {
            throw new IllegalStateException("cannot free a direct buffer", e);
        }
    }
}
