package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.SsmKryoRegistrator;
import java.nio.ByteBuffer;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/** A task's result through Spark's KryoSerializer with our registrator: 12 bytes per parameter, values intact. */
class PartitionResultWireTest {
    private static final ClassTag<PartitionResult> TAG = ClassTag$.MODULE$.apply(PartitionResult.class);

    private static SerializerInstance kryo() {
        return new KryoSerializer(new SparkConf(false)
                        .set("spark.kryo.registrationRequired", "true")
                        .set("spark.kryo.registrator", SsmKryoRegistrator.class.getName()))
                .newInstance();
    }

    @Test
    void aTrainingResultWeighsTwelveBytesPerParameterAndRoundTrips() {
        int n = 100_000;
        double[] hi = new double[n];
        float[] lo = new float[n];
        for (int i = 0; i < n; i++) {
            hi[i] = Math.sin(i) * 1e3;
            lo[i] = (float) (Math.ulp(hi[i]) * 0.25 * Math.cos(i));
        }
        PartitionResult r = new PartitionResult();
        r.partition = 3;
        r.windows = 4;
        r.tokens = 4096;
        r.loss.add(1234.5);
        r.gradient = new PackedSum(hi, lo);
        r.computeNanos = 77;
        SerializerInstance kryo = kryo();
        ByteBuffer bytes = kryo.serialize(r, TAG);
        int size = bytes.remaining();
        assertTrue(size >= 12L * n && size <= 12L * n + 200, "serialized size " + size + " for " + n + " parameters");
        assertEquals(r.byteSize(), 64 + 12L * n);

        PartitionResult back = kryo.deserialize(bytes, TAG);
        assertEquals(3, back.partition);
        assertEquals(4, back.windows);
        assertEquals(4096, back.tokens);
        assertEquals(1234.5, back.loss.value(), 0.0);
        assertEquals(77, back.computeNanos);
        assertArrayEquals(hi, back.gradient.hi);
        assertArrayEquals(lo, back.gradient.lo);
    }

    @Test
    void anEvaluationResultCarriesNoGradient() {
        PartitionResult r = new PartitionResult();
        r.tokens = 10;
        SerializerInstance kryo = kryo();
        ByteBuffer bytes = kryo.serialize(r, TAG);
        assertTrue(bytes.remaining() < 100, "serialized size " + bytes.remaining());
        assertNull(kryo.deserialize(bytes, TAG).gradient);
    }
}
