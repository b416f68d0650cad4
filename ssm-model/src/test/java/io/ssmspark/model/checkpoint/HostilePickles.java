package io.ssmspark.model.checkpoint;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Pickles that run a command when Python's pickle.load reads them (checked by hand once with CPython: each
 * created its side-effect file), for the tests that must see them refused with nothing executed. Each creates
 * {@code target} when unpickled naively.
 */
public final class HostilePickles {
    private HostilePickles() {}

    /** A named attack: what it calls and its data.pkl bytes. */
    public record Attack(String global, byte[] pickle) {}

    public static List<Attack> all(String target) {
        return List.of(
                new Attack("os.system", globalCall(2, "os", "system", "touch " + target)),
                new Attack("posix.system", globalCall(2, "posix", "system", "touch " + target)),
                new Attack(
                        "builtins.exec",
                        stackGlobalCall("builtins", "exec", "open('" + target + "', 'w').write('pwned')")),
                new Attack("subprocess.Popen", popen(target)),
                new Attack("os.system", hiddenInStateDict(target)));
    }

    /** PROTO n; GLOBAL module name; BINUNICODE arg; TUPLE1; REDUCE; STOP: {@code module.name(arg)}. */
    static byte[] globalCall(int protocol, String module, String name, String arg) {
        Out o = new Out();
        o.op(0x80).op(protocol);
        o.op('c')
                .raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII))
                .op('q')
                .op(0);
        o.unicode(arg).op('q').op(1);
        o.op(0x85).op('q').op(2).op('R').op('q').op(3).op('.');
        return o.bytes();
    }

    /** Protocol 4 with FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL: {@code module.name(arg)}. */
    static byte[] stackGlobalCall(String module, String name, String arg) {
        Out body = new Out();
        body.shortUnicode(module).op(0x94).shortUnicode(name).op(0x94).op(0x93).op(0x94);
        body.unicode(arg).op(0x94).op(0x85).op(0x94).op('R').op(0x94).op('.');
        byte[] b = body.bytes();
        Out o = new Out();
        o.op(0x80)
                .op(4)
                .op(0x95)
                .raw(ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(b.length)
                        .array());
        o.raw(b);
        return o.bytes();
    }

    /** {@code subprocess.Popen(['touch', target])}: GLOBAL, EMPTY_LIST, MARK, strings, APPENDS, TUPLE1, REDUCE. */
    static byte[] popen(String target) {
        Out o = new Out();
        o.op(0x80)
                .op(2)
                .op('c')
                .raw("subprocess\nPopen\n".getBytes(StandardCharsets.US_ASCII))
                .op('q')
                .op(0);
        o.op(']')
                .op('q')
                .op(1)
                .op('(')
                .unicode("touch")
                .op('q')
                .op(2)
                .unicode(target)
                .op('q')
                .op(3)
                .op('e');
        o.op(0x85).op('q').op(4).op('R').op('q').op(5).op('.');
        return o.bytes();
    }

    /**
     * A state dict whose first entry is a real tensor and whose second entry's value is {@code os.system(...)}: the
     * refused global sits well inside the pickle.
     */
    static byte[] hiddenInStateDict(String target) {
        TorchZipWriter.Storage s = TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, new byte[8]);
        byte[] good = TorchZipWriter.pickle(List.of(TorchZipWriter.Tensor.contiguous("a.weight", s, 2)), false);
        // good = ... REDUCE BINPUT n  SETITEM  STOP: replace its ending "s." with a second SETITEM of the attack
        Out o = new Out();
        o.raw(java.util.Arrays.copyOf(good, good.length - 2)).op('s');
        o.unicode("b.weight");
        o.op('c').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII));
        o.unicode("touch " + target).op(0x85).op('R').op('s').op('.');
        return o.bytes();
    }

    private static final class Out {
        private final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Out op(int x) {
            b.write(x);
            return this;
        }

        Out raw(byte[] x) {
            b.write(x, 0, x.length);
            return this;
        }

        Out unicode(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op('X').raw(ByteBuffer.allocate(4)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(u.length)
                    .array());
            return raw(u);
        }

        Out shortUnicode(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            return op(0x8c).op(u.length).raw(u);
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }
}
