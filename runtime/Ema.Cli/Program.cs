Console.WriteLine("ema");
