defmodule Wasmex.Features.NonFiniteFloatsTest do
  # NaN, +inf and -inf cross the boundary as :nan, :infinity and :neg_infinity (issue 8 item 1).
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers

  @specials [:nan, :infinity, :neg_infinity]

  @core ~S"""
  (module
    (import "env" "h64" (func $h64 (param f64) (result f64)))
    (import "env" "h32" (func $h32 (param f32) (result f32)))
    (global $g64 (export "g64") (mut f64) (f64.const 0))
    (global $g32 (export "g32") (mut f32) (f32.const 0))
    (global (export "nan_const") f64 (f64.const nan:0x4))
    (func (export "id64") (param f64) (result f64) local.get 0)
    (func (export "id32") (param f32) (result f32) local.get 0)
    (func (export "div64") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
    (func (export "overflow32") (result f32) (f32.add (f32.const -0x1.fffffep+127) (f32.const -0x1.fffffep+127)))
    (func (export "via64") (param f64) (result f64) (call $h64 (local.get 0)))
    (func (export "via32") (param f32) (result f32) (call $h32 (local.get 0))))
  """

  defp imports(test) do
    reply = fn _ctx, x ->
      send(test, {:import_got, x})
      x
    end

    %{"env" => %{"h64" => {:fn, [:f64], [:f64], reply}, "h32" => {:fn, [:f32], [:f32], reply}}}
  end

  test "results: guest-computed non-finite floats come back as atoms and the server lives" do
    {:ok, pid} = Wasmex.start_link(%{bytes: @core, imports: imports(self())})
    assert Wasmex.call_function(pid, "div64", [0.0, 0.0]) == {:ok, [:nan]}
    assert Wasmex.call_function(pid, "div64", [1.0, 0.0]) == {:ok, [:infinity]}
    assert Wasmex.call_function(pid, "div64", [-1.0, 0.0]) == {:ok, [:neg_infinity]}
    assert Wasmex.call_function(pid, "overflow32", []) == {:ok, [:neg_infinity]}
    assert Process.alive?(pid)
  end

  test "arguments and import parameters and results, f32 and f64" do
    {:ok, pid} = Wasmex.start_link(%{bytes: @core, imports: imports(self())})

    for fun <- ["id64", "id32", "via64", "via32"], special <- @specials do
      assert Wasmex.call_function(pid, fun, [special]) == {:ok, [special]}, "#{fun} #{special}"
    end

    assert_received {:import_got, :nan}
    assert_received {:import_got, :infinity}
    assert_received {:import_got, :neg_infinity}
    assert Wasmex.call_function(pid, "id64", [1.5]) == {:ok, [1.5]}
  end

  test "other atoms are still refused with the 0.15.1 text" do
    {:ok, pid} = Wasmex.start_link(%{bytes: @core, imports: imports(self())})

    assert Wasmex.call_function(pid, "id64", [:nope]) ==
             {:error, "Cannot convert argument #1 to a WebAssembly f64 value. Given `Atom`."}

    {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "i") (param i32)))]})

    assert Wasmex.call_function(pid, "i", [:nan]) ==
             {:error, "Cannot convert argument #1 to a WebAssembly i32 value. Given `Atom`."}
  end

  test "globals: get and set non-finite values, a NaN payload is not kept" do
    {store, _module, instance} = instantiate!(@core, imports(self()))

    for name <- ["g64", "g32"], special <- @specials do
      assert Wasmex.Instance.set_global_value(store, instance, name, special) == :ok
      assert Wasmex.Instance.get_global_value(store, instance, name) == {:ok, special}
    end

    assert Wasmex.Instance.get_global_value(store, instance, "nan_const") == {:ok, :nan}
  end

  @component ~S"""
  (component
    (import "cb" (func $cb (param "x" f64) (result f64)))
    (core func $cbl (canon lower (func $cb)))
    (core module $m
      (import "h" "cb" (func $cb (param f64) (result f64)))
      (func (export "id32") (param f32) (result f32) local.get 0)
      (func (export "id64") (param f64) (result f64) local.get 0)
      (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
      (func (export "via") (param f64) (result f64) (call $cb (local.get 0))))
    (core instance $i (instantiate $m (with "h" (instance (export "cb" (func $cbl))))))
    (func (export "id32") (param "x" f32) (result f32) (canon lift (core func $i "id32")))
    (func (export "id64") (param "x" f64) (result f64) (canon lift (core func $i "id64")))
    (func (export "div") (param "a" f64) (param "b" f64) (result f64) (canon lift (core func $i "div")))
    (func (export "via") (param "x" f64) (result f64) (canon lift (core func $i "via"))))
  """

  defp component!(test) do
    {:ok, bytes} = Wasmex.Wat.to_wasm(@component)

    cb = fn x ->
      send(test, {:component_import_got, x})
      x
    end

    {:ok, pid} = Wasmex.Components.start_link(bytes: bytes, imports: %{"cb" => {:fn, cb}})
    pid
  end

  test "component f32/f64 values: results, arguments, import parameters and results" do
    pid = component!(self())
    assert Wasmex.Components.call_function(pid, "div", [0.0, 0.0]) == {:ok, :nan}
    assert Wasmex.Components.call_function(pid, "div", [1.0, 0.0]) == {:ok, :infinity}

    for fun <- ["id32", "id64", "via"], special <- @specials do
      assert Wasmex.Components.call_function(pid, fun, [special]) == {:ok, special}
    end

    assert_received {:component_import_got, :nan}
    assert_received {:component_import_got, :neg_infinity}
    assert Wasmex.Components.call_function(pid, "id64", [2.5]) == {:ok, 2.5}

    assert {:error, "Could not convert Atom to Float64" <> _} =
             Wasmex.Components.call_function(pid, "id64", [:nope])

    assert Process.alive?(pid)
  end
end
