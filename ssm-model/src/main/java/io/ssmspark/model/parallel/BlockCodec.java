package io.ssmspark.model.parallel;

import io.ssmspark.model.tensor.Shapes;
import java.nio.ByteBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A message of the part exchange: a list of arrays (entries may be null; a null list is "nothing"), each sent as
 * its dtype (FLOAT or DOUBLE), shape and values in row-major order. Decoded arrays are made in the caller's current
 * scope, so they belong to the receiving thread.
 */
final class BlockCodec {
    private static final byte ABSENT = 0;
    private static final byte FLOAT = 1;
    private static final byte DOUBLE = 2;

    private BlockCodec() {}

    static byte[] encode(INDArray[] blocks) {
        if (blocks == null) {
            return new byte[0];
        }
        int size = 4;
        for (INDArray a : blocks) {
            size += 1;
            if (a != null) {
                size += 4 + 8 * a.rank() + (int) a.length() * (a.dataType() == DataType.DOUBLE ? 8 : 4);
            }
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(blocks.length);
        for (INDArray a : blocks) {
            if (a == null) {
                b.put(ABSENT);
                continue;
            }
            INDArray flat = Shapes.contiguous(a).reshape(a.length());
            b.put(a.dataType() == DataType.DOUBLE ? DOUBLE : FLOAT);
            b.putInt(a.rank());
            for (long s : a.shape()) {
                b.putLong(s);
            }
            if (a.dataType() == DataType.DOUBLE) {
                b.asDoubleBuffer().put(flat.toDoubleVector());
                b.position(b.position() + 8 * (int) a.length());
            } else if (a.dataType() == DataType.FLOAT) {
                b.asFloatBuffer().put(flat.toFloatVector());
                b.position(b.position() + 4 * (int) a.length());
            } else {
                throw new IllegalArgumentException("part exchange: cannot send an array of " + a.dataType());
            }
        }
        return b.array();
    }

    /** The arrays of a message (null for an empty one). */
    static INDArray[] decode(byte[] message) {
        if (message.length == 0) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(message);
        INDArray[] blocks = new INDArray[b.getInt()];
        for (int i = 0; i < blocks.length; i++) {
            byte kind = b.get();
            if (kind == ABSENT) {
                continue;
            }
            long[] shape = new long[b.getInt()];
            long n = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = b.getLong();
                n *= shape[d];
            }
            if (kind == DOUBLE) {
                double[] v = new double[(int) n];
                b.asDoubleBuffer().get(v);
                b.position(b.position() + 8 * v.length);
                blocks[i] = Nd4j.create(v, shape, 'c');
            } else {
                float[] v = new float[(int) n];
                b.asFloatBuffer().get(v);
                b.position(b.position() + 4 * v.length);
                blocks[i] = Nd4j.create(v, shape, 'c');
            }
        }
        return blocks;
    }
}
