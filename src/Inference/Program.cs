using Inference;

NativeAllocator.KeepFreedMemory();
return Cli.Create().Parse(args).Invoke();
