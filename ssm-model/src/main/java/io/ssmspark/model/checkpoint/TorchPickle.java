package io.ssmspark.model.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A restricted unpickler for the {@code data.pkl} record of a torch.save zip archive holding a state dict. It
 * interprets pickle opcodes as data only: it builds strings, integers, tuples, dicts and the records of storages
 * and tensors, and it knows exactly five callables by name, which it never calls but recognises:
 * <ul>
 * <li>{@code collections.OrderedDict}, called with no arguments (the state dict itself and the empty
 * backward-hooks dict of every tensor), then filled by SETITEM(S), its {@code _metadata} attribute set by BUILD;</li>
 * <li>{@code torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)}
 * (torch/_tensor.py, {@code _reduce_ex_internal}; torch/_utils.py);</li>
 * <li>{@code torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)}, which a state dict holds when it
 * was saved with {@code keep_vars=True};</li>
 * <li>{@code torch.<Type>Storage}, only as the second element of a persistent id
 * {@code ('storage', torch.<Type>Storage, key, location, numel)} (torch/serialization.py, {@code _save}'s
 * {@code persistent_id}); see {@link TorchDType}.</li>
 * </ul>
 * Any other global, and any opcode outside the set below, is refused by name with the file and the byte offset
 * ({@link RefusedPickleException}). There is no Java deserialization, no reflection and no class loading on file
 * contents. The opcodes (their meaning as Python's Lib/pickletools.py documents it): PROTO, FRAME, STOP, MARK,
 * EMPTY_DICT, SETITEM, SETITEMS, EMPTY_LIST, APPEND, APPENDS, EMPTY_TUPLE, TUPLE, TUPLE1-3, NONE, NEWTRUE, NEWFALSE,
 * BININT, BININT1, BININT2, LONG1, LONG4 (up to 8 bytes), BINFLOAT, BINUNICODE, SHORT_BINUNICODE, BINUNICODE8,
 * GLOBAL, STACK_GLOBAL, REDUCE, BUILD, BINPERSID, BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET.
 */
final class TorchPickle {
    private static final int MAX_STACK = 1 << 20;
    private static final int MAX_MEMO = 1 << 24;
    private static final int MAX_GLOBAL_NAME = 1024;

    /** One storage (one {@code data/<key>} record), as its persistent id names it. */
    record Storage(String key, TorchDType dtype, String location, long numel) {}

    /** One tensor of the state dict: {@code _rebuild_tensor_v2}'s storage, offset, size and stride (in elements). */
    record Tensor(String name, Storage storage, long storageOffset, long[] shape, long[] stride) {
        /** Number of elements (the product of the shape, 1 for a scalar). */
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /**
         * Elements of the storage the tensor spans from its offset: 1 + sum((size_i - 1) * stride_i), or 0 when it
         * has no element.
         */
        long extent() {
            if (numel() == 0) {
                return 0;
            }
            long e = 1;
            for (int i = 0; i < shape.length; i++) {
                e += (shape[i] - 1) * stride[i];
            }
            return e;
        }

        /** Row-major with no gaps; as torch's is_contiguous, a dimension of size 1 may have any stride. */
        boolean contiguous() {
            long expected = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                if (shape[i] != 1 && stride[i] != expected) {
                    return false;
                }
                expected *= shape[i];
            }
            return true;
        }
    }

    /** The state dict: its tensors in the pickle's order. */
    record StateDict(List<Tensor> tensors) {}

    // ---- the values the unpickler builds: plain data only --------------------------------------------------

    private enum Marker {
        MARK,
        NONE
    }

    private enum Callable {
        ORDERED_DICT("collections.OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
        REBUILD_PARAMETER("torch._utils._rebuild_parameter");

        final String pythonName;

        Callable(String pythonName) {
            this.pythonName = pythonName;
        }
    }

    private record StorageType(TorchDType dtype) {}

    private record Tuple(List<Object> items) {}

    /** A dict or OrderedDict (identity semantics, as Python's). */
    private static final class Dict {
        final LinkedHashMap<Object, Object> map = new LinkedHashMap<>();
    }

    private static final class PyList {
        final List<Object> items = new ArrayList<>();
    }

    /** A tensor before it has a name. */
    private record TensorValue(Storage storage, long offset, long[] shape, long[] stride) {}

    // ---- the machine ---------------------------------------------------------------------------------------

    private final byte[] data;
    private final String where;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private final Map<String, Storage> storages = new LinkedHashMap<>();
    private int pos;
    private int opAt;

    private TorchPickle(byte[] data, String where) {
        this.data = data;
        this.where = where;
    }

    /**
     * Reads a state dict from pickle bytes; {@code where} names the file and record in errors ("f.bin: record
     * 'archive/data.pkl'"). The result is a dict of str to tensors; anything else is refused.
     */
    static StateDict parse(byte[] pickle, String where) throws TorchFormatException {
        return new TorchPickle(pickle, where).run();
    }

    private StateDict run() throws TorchFormatException {
        Object result = null;
        boolean stopped = false;
        while (pos < data.length) {
            opAt = pos;
            int op = data[pos++] & 0xFF;
            if (op == '.') { // STOP
                if (stack.size() != 1 || stack.get(0) == Marker.MARK) {
                    throw fail("STOP with " + stack.size() + " objects on the stack (expected exactly the state dict)");
                }
                result = stack.remove(0);
                stopped = true;
                break;
            }
            step(op);
        }
        if (!stopped) {
            throw new TorchFormatException(where + ": the pickle ends at byte " + data.length
                    + " without its STOP opcode: the record is truncated or damaged");
        }
        if (pos != data.length) {
            throw new TorchFormatException(where + ": byte offset " + pos + ": " + (data.length - pos)
                    + " bytes follow the STOP opcode; a torch.save pickle ends there");
        }
        return stateDict(result);
    }

    private void step(int op) throws TorchFormatException {
        switch (op) {
            case 0x80 -> { // PROTO
                int v = u1();
                if (v < 2 || v > 5) {
                    throw fail("pickle protocol " + v + " (torch.save writes protocol 2; 2 to 5 are read)");
                }
            }
            case 0x95 -> u8("FRAME"); // FRAME: a length hint only; the opcodes inside are read as usual
            case '(' -> push(Marker.MARK);
            case '}' -> push(new Dict());
            case ']' -> push(new PyList());
            case ')' -> push(new Tuple(List.of()));
            case 't' -> push(new Tuple(Collections.unmodifiableList(popToMark("TUPLE"))));
            case 0x85, 0x86, 0x87 -> { // TUPLE1, TUPLE2, TUPLE3
                int n = op - 0x84;
                List<Object> items = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    items.add(0, popValue("TUPLE" + n));
                }
                push(new Tuple(Collections.unmodifiableList(items)));
            }
            case 'N' -> push(Marker.NONE);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'J' -> push((long) i4());
            case 'K' -> push((long) u1());
            case 'M' -> push((long) u2());
            case 0x8a -> push(longBytes(u1()));
            case 0x8b -> push(longBytes(checkedLength(u4(), "LONG4")));
            case 'G' ->
                push(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble());
            case 'X' -> push(utf8(checkedLength(u4(), "BINUNICODE")));
            case 0x8c -> push(utf8(u1()));
            case 0x8d -> push(utf8(checkedLength(u8("BINUNICODE8"), "BINUNICODE8")));
            case 'c' -> { // GLOBAL: "module\nname\n"
                String module = line();
                String name = line();
                push(global(module, name));
            }
            case 0x93 -> { // STACK_GLOBAL
                Object name = popValue("STACK_GLOBAL");
                Object module = popValue("STACK_GLOBAL");
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw fail("STACK_GLOBAL needs two strings, found " + describe(module) + " and " + describe(name));
                }
                push(global(m, n));
            }
            case 'R' -> reduce();
            case 'b' -> build();
            case 'Q' -> push(persistentLoad(popValue("BINPERSID")));
            case 's' -> {
                Object value = popValue("SETITEM");
                Object key = popValue("SETITEM");
                setItem(peekDict("SETITEM"), key, value);
            }
            case 'u' -> {
                List<Object> items = popToMark("SETITEMS");
                if (items.size() % 2 != 0) {
                    throw fail("SETITEMS with an odd number (" + items.size() + ") of keys and values");
                }
                Dict d = peekDict("SETITEMS");
                for (int i = 0; i < items.size(); i += 2) {
                    setItem(d, items.get(i), items.get(i + 1));
                }
            }
            case 'a' -> {
                Object value = popValue("APPEND");
                peekList("APPEND").items.add(value);
            }
            case 'e' -> {
                List<Object> items = popToMark("APPENDS");
                peekList("APPENDS").items.addAll(items);
            }
            case 'q' -> memoPut(u1());
            case 'r' -> memoPut(u4());
            case 0x94 -> memoPut(memo.size());
            case 'h' -> memoGet(u1());
            case 'j' -> memoGet(u4());
            default -> throw refuseOpcode(op);
        }
    }

    // ---- globals and calls -------------------------------------------------------------------------------

    private Object global(String module, String name) throws RefusedPickleException {
        if (module.equals("collections") && name.equals("OrderedDict")) {
            return Callable.ORDERED_DICT;
        }
        if (module.equals("torch._utils") && name.equals("_rebuild_tensor_v2")) {
            return Callable.REBUILD_TENSOR_V2;
        }
        if (module.equals("torch._utils") && name.equals("_rebuild_parameter")) {
            return Callable.REBUILD_PARAMETER;
        }
        if (module.equals("torch")) {
            TorchDType dtype = TorchDType.byStorageName(name);
            if (dtype != null) {
                return new StorageType(dtype);
            }
        }
        String qualified = module + "." + name;
        throw new RefusedPickleException(
                where + ": byte offset " + opAt + ": refused global '" + qualified
                        + "': a tensor state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2,"
                        + " torch._utils._rebuild_parameter and torch.<Type>Storage; nothing from this file was executed",
                qualified,
                opAt);
    }

    private void reduce() throws TorchFormatException {
        Object args = popValue("REDUCE");
        Object callable = popValue("REDUCE");
        if (callable instanceof StorageType s) {
            throw new RefusedPickleException(
                    where + ": byte offset " + opAt + ": the pickle calls torch."
                            + s.dtype().storageName()
                            + "(...), which a state dict only names in a persistent id; refused,"
                            + " nothing from this file was executed",
                    "torch." + s.dtype().storageName(),
                    opAt);
        }
        if (!(callable instanceof Callable c)) {
            throw fail("REDUCE calls " + describe(callable) + ", which is not callable");
        }
        if (!(args instanceof Tuple t)) {
            throw fail(c.pythonName + " is called with " + describe(args) + " instead of an argument tuple");
        }
        List<Object> a = t.items();
        switch (c) {
            case ORDERED_DICT -> {
                if (!a.isEmpty()) {
                    throw fail("collections.OrderedDict is called with " + a.size() + " arguments; torch.save writes"
                            + " OrderedDict() and then fills it with SETITEMS");
                }
                push(new Dict());
            }
            case REBUILD_TENSOR_V2 -> push(rebuildTensor(a));
            case REBUILD_PARAMETER -> {
                if (a.size() != 3
                        || !(a.get(0) instanceof TensorValue tensor)
                        || !(a.get(1) instanceof Boolean)
                        || !(a.get(2) instanceof Dict)) {
                    throw fail("torch._utils._rebuild_parameter expects (tensor, requires_grad, backward_hooks), found "
                            + describeTuple(a));
                }
                requireEmptyHooks((Dict) a.get(2));
                push(tensor);
            }
        }
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private TensorValue rebuildTensor(List<Object> a) throws TorchFormatException {
        if (a.size() != 6 && a.size() != 7) {
            throw fail("torch._utils._rebuild_tensor_v2 expects 6 or 7 arguments, found " + describeTuple(a));
        }
        if (!(a.get(0) instanceof Storage storage)) {
            throw fail("torch._utils._rebuild_tensor_v2's storage is " + describe(a.get(0))
                    + ", not a persistent-id storage");
        }
        long offset = nonNegative(a.get(1), "storage_offset");
        long[] shape = longs(a.get(2), "size");
        long[] stride = longs(a.get(3), "stride");
        if (shape.length != stride.length) {
            throw fail("torch._utils._rebuild_tensor_v2's size " + Arrays.toString(shape) + " and stride "
                    + Arrays.toString(stride) + " have different lengths");
        }
        if (!(a.get(4) instanceof Boolean)) {
            throw fail("torch._utils._rebuild_tensor_v2's requires_grad is " + describe(a.get(4)) + ", not a bool");
        }
        if (!(a.get(5) instanceof Dict hooks)) {
            throw fail("torch._utils._rebuild_tensor_v2's backward_hooks is " + describe(a.get(5)) + ", not a dict");
        }
        requireEmptyHooks(hooks);
        if (a.size() == 7 && !(a.get(6) instanceof Dict m && m.map.isEmpty())) {
            throw fail("the tensor carries metadata " + describe(a.get(6)) + " (torch._utils.get_tensor_metadata),"
                    + " which ssm-spark does not interpret");
        }
        try {
            long elements = 1;
            long extent = 1;
            for (int i = 0; i < shape.length; i++) {
                elements = Math.multiplyExact(elements, shape[i]);
                if (shape[i] > 0) {
                    extent = Math.addExact(extent, Math.multiplyExact(shape[i] - 1, stride[i]));
                }
            }
            Math.addExact(offset, extent);
        } catch (ArithmeticException e) {
            throw fail("tensor of size " + Arrays.toString(shape) + ", stride " + Arrays.toString(stride)
                    + " and offset " + offset + " overflows 64 bits");
        }
        return new TensorValue(storage, offset, shape, stride);
    }

    private void requireEmptyHooks(Dict hooks) throws TorchFormatException {
        if (!hooks.map.isEmpty()) {
            throw fail("the tensor's backward_hooks dict holds " + hooks.map.size() + " entries; torch.save writes an"
                    + " empty OrderedDict (torch/_tensor.py: hooks are not serialized)");
        }
    }

    /** A persistent id ('storage', torch.<Type>Storage, key, location, numel): one storage record of the zip. */
    private Storage persistentLoad(Object pid) throws TorchFormatException {
        if (!(pid instanceof Tuple t)
                || t.items().size() != 5
                || !"storage".equals(t.items().get(0))) {
            throw fail("persistent id " + describe(pid) + " is not ('storage', torch.<Type>Storage, key, location,"
                    + " numel) as torch.save's zip format writes it");
        }
        List<Object> p = t.items();
        if (!(p.get(1) instanceof StorageType type)) {
            throw fail("persistent id's storage type is " + describe(p.get(1)) + ", not torch.<Type>Storage");
        }
        if (!(p.get(2) instanceof String key) || !(p.get(3) instanceof String location)) {
            throw fail("persistent id's key and location must be strings, found " + describe(p.get(2)) + " and "
                    + describe(p.get(3)));
        }
        long numel = nonNegative(p.get(4), "storage numel");
        Storage s = new Storage(key, type.dtype(), location, numel);
        Storage seen = storages.putIfAbsent(key, s);
        if (seen != null && (seen.dtype() != s.dtype() || seen.numel() != s.numel())) {
            throw fail("storage '" + key + "' is named as " + seen.numel() + " "
                    + seen.dtype().torchName() + " elements and as " + numel + " "
                    + s.dtype().torchName() + " elements");
        }
        return seen != null ? seen : s;
    }

    private void build() throws TorchFormatException {
        Object state = popValue("BUILD");
        Object target = peekValue("BUILD");
        // OrderedDict.__reduce__ gives its instance __dict__ as the state: the state dict's _metadata (module
        // versions), which ssm-spark has no use for. Nothing else in a state dict has a state to set.
        if (!(target instanceof Dict) || !(state instanceof Dict s)) {
            throw fail("BUILD sets " + describe(state) + " on " + describe(target)
                    + "; a state dict only sets the OrderedDict's _metadata");
        }
        for (Object key : s.map.keySet()) {
            if (!(key instanceof String)) {
                throw fail("BUILD sets an attribute named " + describe(key) + ", not a string");
            }
        }
    }

    // ---- the result ----------------------------------------------------------------------------------------

    private StateDict stateDict(Object result) throws TorchFormatException {
        if (!(result instanceof Dict d)) {
            throw new TorchFormatException(where + ": the pickle holds " + describe(result)
                    + ", not a state dict (a dict of tensor names to tensors)");
        }
        List<Tensor> tensors = new ArrayList<>();
        for (Map.Entry<Object, Object> e : d.map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new TorchFormatException(
                        where + ": the state dict has a key " + describe(e.getKey()) + "; tensor names are strings");
            }
            if (!(e.getValue() instanceof TensorValue t)) {
                String hint = e.getValue() instanceof Dict
                        ? " (a training checkpoint that nests the state dict? save model.state_dict() itself)"
                        : "";
                throw new TorchFormatException(
                        where + ": entry '" + name + "' is " + describe(e.getValue()) + ", not a tensor" + hint);
            }
            tensors.add(new Tensor(name, t.storage(), t.offset(), t.shape(), t.stride()));
        }
        return new StateDict(Collections.unmodifiableList(tensors));
    }

    // ---- stack and memo ------------------------------------------------------------------------------------

    private void push(Object o) throws TorchFormatException {
        if (stack.size() >= MAX_STACK) {
            throw fail("more than " + MAX_STACK + " objects on the pickle stack");
        }
        stack.add(o);
    }

    private Object popValue(String opcode) throws TorchFormatException {
        Object o = peekValue(opcode);
        stack.remove(stack.size() - 1);
        return o;
    }

    private Object peekValue(String opcode) throws TorchFormatException {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == Marker.MARK) {
            throw fail(opcode + " needs a value on the stack, found " + (stack.isEmpty() ? "none" : "a MARK"));
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popToMark(String opcode) throws TorchFormatException {
        int mark = stack.lastIndexOf(Marker.MARK);
        if (mark < 0) {
            throw fail(opcode + " without a MARK before it");
        }
        List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }

    private Dict peekDict(String opcode) throws TorchFormatException {
        Object o = peekValue(opcode);
        if (!(o instanceof Dict d)) {
            throw fail(opcode + " on " + describe(o) + ", not a dict");
        }
        return d;
    }

    private PyList peekList(String opcode) throws TorchFormatException {
        Object o = peekValue(opcode);
        if (!(o instanceof PyList l)) {
            throw fail(opcode + " on " + describe(o) + ", not a list");
        }
        return l;
    }

    private void setItem(Dict d, Object key, Object value) throws TorchFormatException {
        if (!(key instanceof String
                || key instanceof Long
                || key instanceof Boolean
                || key instanceof Tuple
                || key == Marker.NONE)) {
            throw fail("dict key " + describe(key) + " is not one a state dict uses");
        }
        if (d.map.putIfAbsent(key, value) != null) {
            throw fail("dict key " + describe(key) + " is set twice");
        }
    }

    private void memoPut(long index) throws TorchFormatException {
        Object top = peekValue("PUT");
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw fail("more than " + MAX_MEMO + " memo entries");
        }
        memo.put(index, top);
    }

    private void memoGet(long index) throws TorchFormatException {
        Object o = memo.get(index);
        if (o == null) {
            throw fail("GET of memo entry " + index + ", which was never PUT");
        }
        push(o);
    }

    // ---- reading bytes -------------------------------------------------------------------------------------

    private void need(long n) throws TorchFormatException {
        if (n > data.length - pos) {
            throw new TorchFormatException(where + ": byte offset " + opAt + ": the opcode needs " + n
                    + " more bytes but the pickle ends at byte " + data.length
                    + ": the record is truncated or damaged");
        }
    }

    private byte[] bytes(int n) throws TorchFormatException {
        need(n);
        byte[] b = Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return b;
    }

    private int u1() throws TorchFormatException {
        need(1);
        return data[pos++] & 0xFF;
    }

    private int u2() throws TorchFormatException {
        need(2);
        int v = (data[pos] & 0xFF) | (data[pos + 1] & 0xFF) << 8;
        pos += 2;
        return v;
    }

    private int i4() throws TorchFormatException {
        need(4);
        int v = ByteBuffer.wrap(data, pos, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        pos += 4;
        return v;
    }

    private long u4() throws TorchFormatException {
        return i4() & 0xFFFFFFFFL;
    }

    private long u8(String opcode) throws TorchFormatException {
        need(8);
        long v = ByteBuffer.wrap(data, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        pos += 8;
        if (v < 0) {
            throw fail(opcode + " length " + Long.toUnsignedString(v) + " is larger than any pickle");
        }
        return v;
    }

    private int checkedLength(long n, String opcode) throws TorchFormatException {
        need(n);
        return (int) n;
    }

    /** LONG1/LONG4: a little-endian two's-complement integer of n bytes (0 bytes is 0). */
    private long longBytes(int n) throws TorchFormatException {
        if (n > 8) {
            throw fail("an integer of " + n + " bytes, larger than any tensor size or offset");
        }
        byte[] b = bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = v << 8 | (b[i] & 0xFF);
        }
        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) {
            v -= 1L << (8 * n); // sign-extend
        }
        return v;
    }

    private String utf8(int n) throws TorchFormatException {
        byte[] b = bytes(n);
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail("a string of " + n + " bytes that is not valid UTF-8");
        }
    }

    /** One newline-terminated argument of GLOBAL. */
    private String line() throws TorchFormatException {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') {
            if (pos - start >= MAX_GLOBAL_NAME) {
                throw fail("a GLOBAL name longer than " + MAX_GLOBAL_NAME + " bytes");
            }
            pos++;
        }
        if (pos >= data.length) {
            throw new TorchFormatException(where + ": byte offset " + opAt
                    + ": GLOBAL's name runs to the end of the pickle: the record is truncated or damaged");
        }
        String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    // ---- messages ------------------------------------------------------------------------------------------

    private TorchFormatException fail(String message) {
        return new TorchFormatException(where + ": byte offset " + opAt + ": " + message);
    }

    private RefusedPickleException refuseOpcode(int op) {
        String name = OPCODE_NAMES.getOrDefault(op, "no pickle opcode");
        return new RefusedPickleException(
                where + ": byte offset " + opAt + ": refused opcode "
                        + String.format(Locale.ROOT, "0x%02x", op) + " (" + name
                        + "), which a tensor state dict written by"
                        + " torch.save does not use; nothing from this file was executed",
                name,
                opAt);
    }

    /** Names of the opcodes this unpickler refuses (Lib/pickletools.py), for the message. */
    private static final Map<Integer, String> OPCODE_NAMES = Map.ofEntries(
            Map.entry((int) 'I', "INT"),
            Map.entry((int) 'L', "LONG"),
            Map.entry((int) 'S', "STRING"),
            Map.entry((int) 'T', "BINSTRING"),
            Map.entry((int) 'U', "SHORT_BINSTRING"),
            Map.entry((int) 'B', "BINBYTES"),
            Map.entry((int) 'C', "SHORT_BINBYTES"),
            Map.entry(0x8e, "BINBYTES8"),
            Map.entry(0x96, "BYTEARRAY8"),
            Map.entry(0x97, "NEXT_BUFFER"),
            Map.entry(0x98, "READONLY_BUFFER"),
            Map.entry((int) 'V', "UNICODE"),
            Map.entry((int) 'F', "FLOAT"),
            Map.entry((int) 'l', "LIST"),
            Map.entry((int) 'd', "DICT"),
            Map.entry(0x8f, "EMPTY_SET"),
            Map.entry(0x90, "ADDITEMS"),
            Map.entry(0x91, "FROZENSET"),
            Map.entry((int) '0', "POP"),
            Map.entry((int) '2', "DUP"),
            Map.entry((int) '1', "POP_MARK"),
            Map.entry((int) 'g', "GET"),
            Map.entry((int) 'p', "PUT"),
            Map.entry(0x82, "EXT1"),
            Map.entry(0x83, "EXT2"),
            Map.entry(0x84, "EXT4"),
            Map.entry((int) 'i', "INST"),
            Map.entry((int) 'o', "OBJ"),
            Map.entry(0x81, "NEWOBJ"),
            Map.entry(0x92, "NEWOBJ_EX"),
            Map.entry((int) 'P', "PERSID"));

    private static String describeTuple(List<Object> items) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < items.size(); i++) {
            b.append(i > 0 ? ", " : "").append(describe(items.get(i)));
        }
        return b.append(items.size() == 1 ? ",)" : ")").toString();
    }

    /** A short description of a value, for messages; never recursive beyond one level. */
    private static String describe(Object o) {
        if (o instanceof String s) {
            return "'" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
        }
        if (o instanceof Long || o instanceof Boolean || o instanceof Double) {
            return String.valueOf(o);
        }
        if (o == Marker.NONE) {
            return "None";
        }
        if (o instanceof Tuple t) {
            return "a tuple of " + t.items().size();
        }
        if (o instanceof Dict d) {
            return d.map.isEmpty() ? "an empty dict" : "a dict of " + d.map.size();
        }
        if (o instanceof PyList l) {
            return "a list of " + l.items.size();
        }
        if (o instanceof Callable c) {
            return c.pythonName;
        }
        if (o instanceof StorageType s) {
            return "torch." + s.dtype().storageName();
        }
        if (o instanceof Storage s) {
            return "storage '" + s.key() + "'";
        }
        if (o instanceof TensorValue t) {
            return "a tensor " + Arrays.toString(t.shape());
        }
        return String.valueOf(o);
    }

    private long nonNegative(Object o, String what) throws TorchFormatException {
        if (!(o instanceof Long v) || v < 0) {
            throw fail(what + " is " + describe(o) + ", not an integer >= 0");
        }
        return v;
    }

    private long[] longs(Object o, String what) throws TorchFormatException {
        if (!(o instanceof Tuple t)) {
            throw fail("tensor " + what + " is " + describe(o) + ", not a tuple of integers");
        }
        long[] out = new long[t.items().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = nonNegative(t.items().get(i), "tensor " + what + "[" + i + "]");
        }
        return out;
    }
}
