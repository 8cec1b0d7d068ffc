using System.Runtime.CompilerServices;
using EncoderKit.Compute;

namespace EncoderKit.Tests;

static class EncoderKitLoadsFirst
{
    // Tests touch libtorch directly too, some before any EncoderKit type: EncoderKit's own module initializer
    // (MklCpuDispatch) must run before the first matrix product whichever test comes first, as it does in an application.
    [ModuleInitializer]
    internal static void Run() => RuntimeHelpers.RunModuleConstructor(typeof(MklCpuDispatch).Module.ModuleHandle);
}
