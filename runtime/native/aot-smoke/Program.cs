using EdgeMixedAccum.Runtime.Kernels;
Console.WriteLine(CpuFeatures.Describe());
int bad = 0;
foreach (var f in KernelFamilies.All)
{
    Console.WriteLine($"{f.Name}: selected {f.Selected(KernelOptions.Default)}");
    foreach (var r in f.SelfTest()) { Console.WriteLine($"  {r.Variant} [{r.Isa}] {(r.Ok ? "OK" : "FAIL")} {r.Detail}"); if (!r.Ok) bad++; }
}
return bad;
