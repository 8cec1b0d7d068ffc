using EncoderKit.Training;

namespace EncoderKit.Tests.Training;

/// <summary>Checkpoint folders appear whole or not at all, the newest K are kept, and an interrupted write is ignored.</summary>
public sealed class CheckpointFoldersTests
{
    static void WriteMarker(string folder, long step) => File.WriteAllText(Path.Combine(folder, "step.txt"), step.ToString());

    [Fact]
    public void OnlyTheNewestAreKept()
    {
        using var output = new TempFolder();
        var checkpoints = new CheckpointFolders(output.Path, keepLast: 2);
        foreach (long step in new long[] { 5, 10, 15, 20 }) checkpoints.Write(step, folder => WriteMarker(folder, step));
        Assert.Equal([15L, 20L], checkpoints.Complete().Select(c => c.Step));
        Assert.Equal(Path.Combine(output.Path, "checkpoint-20"), checkpoints.Latest());
        Assert.Equal("20", File.ReadAllText(Path.Combine(checkpoints.Latest()!, "step.txt")));
        Assert.Equal(["checkpoint-15", "checkpoint-20"], Directory.GetFileSystemEntries(output.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AWriteThatFailsLeavesNoCheckpointAndTheLatestStands()
    {
        using var output = new TempFolder();
        var checkpoints = new CheckpointFolders(output.Path, keepLast: 3);
        checkpoints.Write(10, folder => WriteMarker(folder, 10));
        Assert.Throws<IOException>(() => checkpoints.Write(20, folder =>
        {
            WriteMarker(folder, 20);
            throw new IOException("disk full");
        }));
        Assert.Equal([10L], checkpoints.Complete().Select(c => c.Step));
        Assert.Single(Directory.GetFileSystemEntries(output.Path));
    }

    [Fact]
    public void AFolderLeftByAKilledWriteIsIgnoredAndThenRemoved()
    {
        using var output = new TempFolder();
        var checkpoints = new CheckpointFolders(output.Path, keepLast: 3);
        checkpoints.Write(10, folder => WriteMarker(folder, 10));
        // What a process killed mid-write leaves: a partial folder that was never renamed.
        Directory.CreateDirectory(Path.Combine(output.Path, ".partial-checkpoint-20.0123456789abcdef"));
        Assert.Equal(Path.Combine(output.Path, "checkpoint-10"), checkpoints.Latest());
        checkpoints.Write(20, folder => WriteMarker(folder, 20));
        Assert.Equal(["checkpoint-10", "checkpoint-20"], Directory.GetFileSystemEntries(output.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RewritingAStepReplacesItsCheckpoint()
    {
        using var output = new TempFolder();
        var checkpoints = new CheckpointFolders(output.Path, keepLast: 3);
        checkpoints.Write(10, folder => File.WriteAllText(Path.Combine(folder, "old.txt"), ""));
        checkpoints.Write(10, folder => WriteMarker(folder, 10));
        Assert.Equal(["step.txt"], Directory.GetFiles(checkpoints.Latest()!).Select(Path.GetFileName));
    }
}
