namespace EdgeMixedAccum.Converters; internal static class Placeholder {}
