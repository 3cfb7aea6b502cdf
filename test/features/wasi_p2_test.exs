defmodule Wasmex.Features.WasiP2Test do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.{Components, Pipe}
  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.Wasi.{PreopenOptions, WasiP2Options}

  @moduletag timeout: 60_000
  @moduletag :capture_log

  # WASI options that neither read from nor write to the test runner's stdio.
  defp quiet(fields \\ []) do
    struct!(
      %WasiP2Options{inherit_stdin: false, inherit_stdout: false, inherit_stderr: false},
      fields
    )
  end

  defp pipe! do
    assert {:ok, pipe} = Pipe.new()
    pipe
  end

  defp contents(pipe) do
    assert :ok = Pipe.seek(pipe, 0)
    Pipe.read(pipe)
  end

  defp run(wasi) do
    pid = start_component!("component_wasi", wasi: wasi)
    Components.call_function(pid, "run", [])
  end

  describe "args and env" do
    test "no args and no env by default" do
      assert {:ok, "args=;env=;stdin=;file=none"} = run(quiet())
    end

    test "args are passed in order" do
      assert {:ok, "args=prog,--flag,two words,Ω;env=;stdin=;file=none"} =
               run(quiet(args: ["prog", "--flag", "two words", "Ω"]))
    end

    test "env is passed (the guest sorts it)" do
      assert {:ok, "args=;env=A=1,B=two,LANG=C.UTF-8;stdin=;file=none"} =
               run(quiet(env: %{"B" => "two", "LANG" => "C.UTF-8", "A" => "1"}))
    end

    test "the host environment is not inherited" do
      System.put_env("WASMEX_P2_TEST_SECRET", "leak")
      on_exit(fn -> System.delete_env("WASMEX_P2_TEST_SECRET") end)
      assert {:ok, result} = run(quiet())
      refute result =~ "WASMEX_P2_TEST_SECRET"
    end
  end

  describe "stdio pipes" do
    test "stdin is read from a pipe; stdout and stderr go to pipes" do
      stdin = pipe!()
      stdout = pipe!()
      stderr = pipe!()
      assert {:ok, 10} = Pipe.write(stdin, "input data")
      assert :ok = Pipe.seek(stdin, 0)

      assert {:ok, "args=;env=;stdin=input data;file=none"} =
               run(quiet(stdin: stdin, stdout: stdout, stderr: stderr))

      assert contents(stdout) == "out: hello\n"
      assert contents(stderr) == "err: hello\n"
    end

    test "a pipe replaces inheriting the stream" do
      stdout = pipe!()
      stderr = pipe!()

      assert {:ok, _} = run(%WasiP2Options{inherit_stdin: false, stdout: stdout, stderr: stderr})

      assert contents(stdout) == "out: hello\n"
      assert contents(stderr) == "err: hello\n"
    end

    test "multi-line UTF-8 stdin" do
      stdin = pipe!()
      text = "line 1\nzweite Zeile\nΩ≈ç√\n"
      assert {:ok, _} = Pipe.write(stdin, text)
      assert :ok = Pipe.seek(stdin, 0)
      assert {:ok, result} = run(quiet(stdin: stdin))
      assert result == "args=;env=;stdin=#{text};file=none"
    end

    test "output accumulates in the pipe across calls; stdin is consumed once" do
      stdin = pipe!()
      stdout = pipe!()
      assert {:ok, _} = Pipe.write(stdin, "once")
      assert :ok = Pipe.seek(stdin, 0)
      pid = start_component!("component_wasi", wasi: quiet(stdin: stdin, stdout: stdout))

      assert {:ok, "args=;env=;stdin=once;file=none"} = Components.call_function(pid, "run", [])
      assert {:ok, "args=;env=;stdin=;file=none"} = Components.call_function(pid, "run", [])
      assert contents(stdout) == "out: hello\nout: hello\n"
    end

    test "one pipe for stdout and stderr collects both" do
      out = pipe!()
      assert {:ok, _} = run(quiet(stdout: out, stderr: out))
      assert contents(out) == "out: hello\nerr: hello\n"
    end
  end

  describe "preopened directories" do
    for {name, input, reversed} <- [
          {"input.txt is reversed into output.txt under the /sandbox alias", "hello, sandbox",
           "xobdnas ,olleh"},
          {"reversal is by character (UTF-8)", "abcΩ≈", "≈Ωcba"}
        ] do
      test name do
        tmp = tmp_dir!()
        File.write!(Path.join(tmp, "input.txt"), unquote(input))

        assert {:ok, "args=;env=;stdin=;file=" <> unquote(input)} =
                 run(quiet(preopen: [%PreopenOptions{path: tmp, alias: "/sandbox"}]))

        assert File.read!(Path.join(tmp, "output.txt")) == unquote(reversed)
      end
    end

    test "an existing output.txt is overwritten" do
      tmp = tmp_dir!()
      File.write!(Path.join(tmp, "input.txt"), "ab")
      File.write!(Path.join(tmp, "output.txt"), "old contents that are longer")

      assert {:ok, _} = run(quiet(preopen: [%PreopenOptions{path: tmp, alias: "/sandbox"}]))
      assert File.read!(Path.join(tmp, "output.txt")) == "ba"
    end

    test "a missing input.txt is a read error reported by the guest" do
      tmp = tmp_dir!()

      assert {:ok, "args=;env=;stdin=;file=<read error: " <> _} =
               run(quiet(preopen: [%PreopenOptions{path: tmp, alias: "/sandbox"}]))

      refute File.exists?(Path.join(tmp, "output.txt"))
    end

    test "without an alias the directory is visible under its host path, not /sandbox" do
      tmp = tmp_dir!()
      File.write!(Path.join(tmp, "input.txt"), "x")

      assert {:ok, "args=;env=;stdin=;file=none"} =
               run(quiet(preopen: [%PreopenOptions{path: tmp}]))

      refute File.exists?(Path.join(tmp, "output.txt"))
    end

    test "without a preopen the guest sees no /sandbox" do
      assert {:ok, "args=;env=;stdin=;file=none"} = run(quiet())
    end

    test "args, env, stdio and a preopen together" do
      tmp = tmp_dir!()
      File.write!(Path.join(tmp, "input.txt"), "123")
      stdin = pipe!()
      stdout = pipe!()
      assert {:ok, _} = Pipe.write(stdin, "in")
      assert :ok = Pipe.seek(stdin, 0)

      wasi =
        quiet(
          args: ["tool", "x"],
          env: %{"K" => "V"},
          stdin: stdin,
          stdout: stdout,
          preopen: [%PreopenOptions{path: tmp, alias: "/sandbox"}]
        )

      assert {:ok, "args=tool,x;env=K=V;stdin=in;file=123"} = run(wasi)
      assert File.read!(Path.join(tmp, "output.txt")) == "321"
      assert contents(stdout) == "out: hello\n"
    end
  end

  describe "low-level API" do
    test "Store.new_wasi/1 with Component and Instance" do
      stdout = pipe!()
      assert {:ok, store} = Store.new_wasi(quiet(args: ["low"], stdout: stdout))
      assert {:ok, component} = Component.new(store, component_bytes("component_wasi"))
      assert {:ok, instance} = Instance.new(store, component, %{})
      assert {:ok, "args=low;env=;stdin=;file=none"} = Instance.call(instance, "run", [])
      assert contents(stdout) == "out: hello\n"
    end
  end

  # A component that fetches URLs over wasi:http, allowed to make requests.
  defp http_component!, do: start_component!("component_http", wasi: quiet(allow_http: true))

  # The guest's `fetch` of `url`, with a 10 s timeout.
  defp fetch(pid, url), do: Components.call_function(pid, "fetch", [url], 10_000)

  describe "outgoing HTTP" do
    test "with allow_http: true a GET to a local server returns the body" do
      port = start_http_server!(200, "hello from the test server")
      pid = http_component!()

      assert {:ok, {:ok, "hello from the test server"}} =
               fetch(pid, "http://127.0.0.1:#{port}/path?q=1")

      assert_receive {:http_request, request}, 1_000
      assert request =~ ~r{\AGET /path\?q=1 HTTP/1\.1\r\n}
      assert request =~ ~r/host: 127\.0\.0\.1:#{port}\r\n/i
    end

    test "several requests on one instance" do
      port = start_http_server!(200, "again")
      pid = http_component!()

      for i <- 1..3 do
        assert {:ok, {:ok, "again"}} = fetch(pid, "http://127.0.0.1:#{port}/#{i}")

        assert_receive {:http_request, "GET /" <> rest}, 1_000
        assert String.starts_with?(rest, "#{i} HTTP/1.1")
      end
    end

    test "a non-2xx status is an error from the guest" do
      port = start_http_server!(404, "no such page")
      pid = http_component!()

      assert {:ok, {:error, "HTTP 404: no such page"}} =
               fetch(pid, "http://127.0.0.1:#{port}/missing")
    end

    test "a refused connection is a wasi:http error code" do
      port = closed_port!()
      pid = http_component!()

      assert {:ok, {:error, "ErrorCode::ConnectionRefused"}} =
               fetch(pid, "http://127.0.0.1:#{port}/")

      # The instance keeps working.
      assert {:ok, {:error, "invalid url (no scheme): nonsense"}} =
               Components.call_function(pid, "fetch", ["nonsense"])
    end

    test "a server that never answers hits the call timeout and the server recovers" do
      {:ok, listen} = :gen_tcp.listen(0, [:binary, ip: {127, 0, 0, 1}, active: false])
      on_exit(fn -> :gen_tcp.close(listen) end)
      {:ok, port} = :inet.port(listen)
      pid = http_component!()

      {ms, result} =
        timed_ms(fn ->
          Components.call_function(pid, "fetch", ["http://127.0.0.1:#{port}/slow"], 300)
        end)

      assert result == {:error, :timeout}
      assert ms < 1_000

      assert {:ok, {:error, "invalid url (no scheme): x"}} =
               Components.call_function(pid, "fetch", ["x"])
    end

    test "without allow_http the component runs but its requests are refused" do
      port = start_http_server!(200, "must not be reached")
      pid = start_component!("component_http", wasi: quiet())

      assert {:ok, {:error, "ErrorCode::HttpProtocolError"}} =
               fetch(pid, "http://127.0.0.1:#{port}/")

      refute_receive {:http_request, _}, 200
    end

    test "without any WASI options the requests are refused too" do
      port = start_http_server!(200, "must not be reached")

      assert {:ok, pid} = Components.start_link(bytes: component_bytes("component_http"))

      assert {:ok, {:error, "ErrorCode::HttpProtocolError"}} =
               fetch(pid, "http://127.0.0.1:#{port}/")

      refute_receive {:http_request, _}, 200
    end
  end
end
