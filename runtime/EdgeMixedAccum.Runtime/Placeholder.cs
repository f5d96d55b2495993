namespace EdgeMixedAccum.Runtime; internal static class Placeholder {}
