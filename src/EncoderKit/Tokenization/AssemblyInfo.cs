using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("EncoderKit.Tests")]
