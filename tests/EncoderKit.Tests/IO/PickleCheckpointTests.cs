using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using EncoderKit.IO;

namespace EncoderKit.Tests.IO;

/// <summary>
/// PyTorch zip checkpoints written byte by byte here (no Python torch on this machine), as torch.save writes a
/// state dict: protocol-2 pickle, OrderedDict, _rebuild_tensor_v2, persistent ids ('storage', torch.FloatStorage,
/// key, 'cpu', numel), records under archive/data/.
/// </summary>
public class PickleCheckpointTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "encoderkit-pickle-tests", Guid.NewGuid().ToString("N"));

    public PickleCheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>One tensor of a state dict: which storage, and the view on it.</summary>
    sealed record T(string Name, string StorageType, string Key, long Numel, long Offset, long[] Size, long[] Stride);

    static readonly float[] Six = [1, 2, 3, 4, 5, 6];

    /// <summary>Emits pickle opcodes; every pushed object is memoized with BINPUT, as Python's pickler does.</summary>
    sealed class Pickle
    {
        readonly MemoryStream _s = new();
        int _memo;
        public byte[] Bytes => _s.ToArray();
        public Pickle Op(params byte[] bytes) { _s.Write(bytes); return this; }
        Pickle Put() => Op((byte)'q', (byte)_memo++);
        public Pickle Proto() => Op(0x80, 2);
        public Pickle Global(string module, string name) => Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n")).Put();
        public Pickle Str(string text)
        {
            byte[] b = Encoding.UTF8.GetBytes(text);
            return Op((byte)'X').Op(BitConverter.GetBytes(b.Length)).Op(b).Put();
        }
        public Pickle Int(long v) => v is >= 0 and < 256 ? Op((byte)'K', (byte)v)
            : v is >= int.MinValue and <= int.MaxValue ? Op((byte)'J').Op(BitConverter.GetBytes((int)v))
            : Op(0x8a, 8).Op(BitConverter.GetBytes(v));
        public Pickle Tuple(params long[] values)
        {
            if (values.Length == 0) return Op((byte)')');
            Op((byte)'(');
            foreach (long v in values) Int(v);
            return Op((byte)'t').Put();
        }
        public Pickle Mark() => Op((byte)'(');
        public Pickle EndTuple() => Op((byte)'t').Put();
        public Pickle Reduce() => Op((byte)'R').Put();
        public Pickle EmptyTuple() => Op((byte)')');
        public Pickle EmptyDict() => Op((byte)'}').Put();
        public Pickle False() => Op(0x89);
        public Pickle Stop() => Op((byte)'.');
    }

    /// <summary>The pickle torch.save writes for an OrderedDict of tensors (with _metadata when asked).</summary>
    static byte[] StateDict(IEnumerable<T> tensors, bool metadata = false, bool asParameters = false)
    {
        var p = new Pickle().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (T t in tensors)
        {
            p.Str(t.Name);
            if (asParameters) p.Global("torch._utils", "_rebuild_parameter").Mark();
            p.Global("torch._utils", "_rebuild_tensor_v2").Mark()
                .Mark().Str("storage").Global("torch", t.StorageType).Str(t.Key).Str("cpu").Int(t.Numel).EndTuple().Op((byte)'Q')
                .Int(t.Offset).Tuple(t.Size).Tuple(t.Stride).False()
                .Global("collections", "OrderedDict").EmptyTuple().Reduce()
                .EndTuple().Reduce();
            if (asParameters) p.False().Global("collections", "OrderedDict").EmptyTuple().Reduce().EndTuple().Reduce();
        }
        p.Op((byte)'u');
        if (metadata)
            p.EmptyDict().Str("_metadata").Global("collections", "OrderedDict").EmptyTuple().Reduce()
                .Str("").EmptyDict().Str("version").Int(1).Op((byte)'s').Op((byte)'s').Op((byte)'s').Op((byte)'b');
        return p.Stop().Bytes;
    }

    string Write(byte[] pickle, Dictionary<string, byte[]> records, string byteOrder = "little", CompressionLevel level = CompressionLevel.NoCompression)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".bin");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            void Add(string name, byte[] bytes)
            {
                using Stream s = zip.CreateEntry(name, level).Open();
                s.Write(bytes);
            }
            Add("archive/data.pkl", pickle);
            Add("archive/byteorder", Encoding.ASCII.GetBytes(byteOrder));
            foreach ((string key, byte[] bytes) in records) Add("archive/data/" + key, bytes);
            Add("archive/version", "3\n"u8.ToArray());
        }
        return path;
    }

    static byte[] Floats(params float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void ReadsAStateDict(CompressionLevel level)
    {
        ushort[] bf16 = [0x3f80, 0x4000, 0x4040, 0x4080];
        string path = Write(StateDict([
            new T("encoder.weight", "FloatStorage", "0", 6, 0, [2, 3], [3, 1]),
            new T("encoder.bias", "BFloat16Storage", "1", 4, 1, [3], [1]),        // a view at an offset
            new T("scale", "FloatStorage", "0", 6, 5, [], []),                     // a scalar sharing storage 0
            new T("ids", "LongStorage", "2", 2, 0, [2], [1]),
        ], metadata: true), new()
        {
            ["0"] = Floats(Six), ["1"] = MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray(), ["2"] = BitConverter.GetBytes(7L).Concat(BitConverter.GetBytes(-9L)).ToArray(),
        }, level: level);

        using PickleCheckpoint checkpoint = PickleCheckpoint.Open(path);

        Assert.Equal(["encoder.weight", "encoder.bias", "scale", "ids"], checkpoint.Tensors.Select(t => t.Name));
        Assert.True(checkpoint.TryGet("encoder.weight", out TensorInfo? w));
        Assert.Equal(TensorDtype.F32, w.Dtype);
        Assert.Equal([2L, 3L], w.Shape);
        Assert.Equal(path, w.File);
        Assert.Equal(Floats(Six), checkpoint.Bytes("encoder.weight").ToArray());
        Assert.True(checkpoint.TryGet("encoder.bias", out TensorInfo? b));
        Assert.Equal(TensorDtype.BF16, b.Dtype);
        Assert.Equal(MemoryMarshal.AsBytes(bf16.AsSpan(1)).ToArray(), checkpoint.Bytes("encoder.bias").ToArray());
        Assert.Empty(checkpoint.TryGet("scale", out TensorInfo? s) ? s.Shape : null!);
        Assert.Equal(Floats(6), checkpoint.Bytes("scale").ToArray());
        Assert.Equal(new long[] { 7, -9 }, MemoryMarshal.Cast<byte, long>(checkpoint.Bytes("ids")).ToArray());
        Assert.False(checkpoint.TryGet("missing", out _));
    }

    [Fact]
    public void AStridedViewIsCopiedIntoRowMajorOrder()
    {
        // A 3x2 transpose of the 2x3 storage [[1,2,3],[4,5,6]]: [[1,4],[2,5],[3,6]].
        string path = Write(StateDict([new T("decoder.weight", "FloatStorage", "0", 6, 0, [3, 2], [1, 3])]), new() { ["0"] = Floats(Six) });
        using PickleCheckpoint checkpoint = PickleCheckpoint.Open(path);
        Assert.Equal(Floats(1, 4, 2, 5, 3, 6), checkpoint.Bytes("decoder.weight").ToArray());
    }

    [Fact]
    public void ParametersAreReadAsTheirTensors()
    {
        string path = Write(StateDict([new T("w", "HalfStorage", "0", 2, 0, [2], [1])], asParameters: true), new() { ["0"] = [1, 2, 3, 4] });
        using PickleCheckpoint checkpoint = PickleCheckpoint.Open(path);
        Assert.Equal(TensorDtype.F16, Assert.Single(checkpoint.Tensors).Dtype);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, checkpoint.Bytes("w").ToArray());
    }

    [Theory]
    [InlineData("posix", "system")]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("__builtin__", "getattr")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_from_type_v2")]
    public void RefusesAnyOtherGlobalBeforeCallingIt(string module, string name)
    {
        // The classic payload: GLOBAL os.system, ('touch pwned',), REDUCE.
        string marker = Path.Combine(_dir, "pwned");
        byte[] pickle = new Pickle().Proto().Global(module, name).Mark().Str("touch " + marker).EndTuple().Reduce().Stop().Bytes;
        string path = Write(pickle, []);

        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path));

        Assert.Equal(ErrorKind.BadCheckpoint, e.Kind);
        Assert.Contains($"refuses global '{module}.{name}'", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.File, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData((byte)0x81)] // NEWOBJ
    [InlineData((byte)'o')]  // OBJ
    [InlineData((byte)'i')]  // INST
    public void RefusesOpcodesThatBuildArbitraryObjects(byte opcode)
    {
        byte[] pickle = new Pickle().Proto().Global("collections", "OrderedDict").EmptyTuple().Op(opcode).Stop().Bytes;
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(Write(pickle, [])));
        Assert.Contains("refusing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesCallingAStorageTypeOrBuildingATensor()
    {
        byte[] call = new Pickle().Proto().Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop().Bytes;
        Assert.Contains("refuses to call 'torch.FloatStorage'", Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(Write(call, []))).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void AViewPastItsStorageIsAnErrorNamingTheTensor()
    {
        string path = Write(StateDict([new T("too.long", "FloatStorage", "0", 6, 2, [2, 3], [3, 1])]), new() { ["0"] = Floats(Six) });
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path));
        Assert.Equal("too.long", e.Field);
        Assert.Contains("reaches past its storage of 6 elements", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStorageLargerThanItsRecordIsAnError()
    {
        string path = Write(StateDict([new T("w", "FloatStorage", "0", 6, 0, [6], [1])]), new() { ["0"] = Floats(1, 2) });
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path));
        Assert.Contains("claims 6 elements; its record has 8 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingStorageRecordIsAnError()
    {
        string path = Write(StateDict([new T("w", "FloatStorage", "7", 6, 0, [6], [1])]), new() { ["0"] = Floats(Six) });
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path));
        Assert.Contains("archive/data/7 is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHostileStorageKeyIsRefused()
    {
        string path = Write(StateDict([new T("w", "FloatStorage", "../../x", 6, 0, [6], [1])]), new() { ["0"] = Floats(Six) });
        Assert.Contains("not a plain record name", Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BigEndianCheckpointsAreRefused()
    {
        string path = Write(StateDict([new T("w", "FloatStorage", "0", 6, 0, [6], [1])]), new() { ["0"] = Floats(Six) }, byteOrder: "big");
        Assert.Equal("byteorder", Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path)).Field);
    }

    [Fact]
    public void TheFormatBeforePyTorch16IsNamed()
    {
        string path = Path.Combine(_dir, "legacy.bin");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, .. new byte[64]]);
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path));
        Assert.Contains("before 1.6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATruncatedFileIsAnErrorNotACrash()
    {
        string good = Write(StateDict([new T("w", "FloatStorage", "0", 6, 0, [6], [1])]), new() { ["0"] = Floats(Six) });
        byte[] bytes = File.ReadAllBytes(good);
        for (int cut = 1; cut < bytes.Length; cut += 7)
        {
            string path = Path.Combine(_dir, "cut.bin");
            File.WriteAllBytes(path, bytes[..cut]);
            Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(path).Dispose());
        }
    }

    [Fact]
    public void AStateDictMustHoldTensors()
    {
        byte[] pickle = new Pickle().Proto().EmptyDict().Str("x").Int(3).Op((byte)'s').Stop().Bytes;
        var e = Assert.Throws<EncoderKitException>(() => PickleCheckpoint.Open(Write(pickle, [])));
        Assert.Equal("x", e.Field);
    }

    [Fact]
    public void ATempFolderWithOnlyPickleWeightsLoadsWhenAllowedAndMatchesTheReference()
    {
        // The bert fixture's tensors re-saved as torch.save would (one float storage per tensor).
        var tensors = new List<T>();
        var records = new Dictionary<string, byte[]>();
        using (var safetensors = SafetensorsFile.Open(Path.Combine(ReferenceData.Model("bert"), "model.safetensors")))
        {
            foreach (TensorInfo info in safetensors.Tensors)
            {
                string key = records.Count.ToString();
                long[] stride = new long[info.Shape.Length];
                for (int d = info.Shape.Length - 1, step = 1; d >= 0; step *= (int)info.Shape[d], d--) stride[d] = step;
                tensors.Add(new T(info.Name, "FloatStorage", key, info.ElementCount, 0, info.Shape, stride));
                records[key] = safetensors.Bytes(info.Name).ToArray();
            }
        }
        string bin = Write(StateDict(tensors, metadata: true), records);
        string folder = Path.Combine(_dir, "model");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(ReferenceData.Model("bert"), "config.json"), Path.Combine(folder, "config.json"));
        File.Move(bin, Path.Combine(folder, ModelWeights.PickleFileName));

        var refused = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder));
        Assert.Contains("allowPickleWeights", refused.Message);   // the library names its parameter; the CLI adds its flag (CliErrorTests)

        using var model = EncoderModel.Load(folder, allowPickleWeights: true);
        using var fixture = new Fixture("bert");
        using var outputs = model.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds);
        // Same weights bit for bit, so the reference tolerance of the safetensors path applies unchanged.
        TensorAssert.Close(outputs.LastHiddenState, fixture.Expected("last_hidden_state"), 1e-4, fixture.AttentionMask, "last_hidden_state");
    }
}
