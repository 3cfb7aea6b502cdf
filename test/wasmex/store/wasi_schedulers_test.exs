defmodule Wasmex.Store.WasiSchedulersTest do
  # WASI stores without preopened directories are made on the caller's scheduler, with them on a
  # dirty I/O scheduler (`store_new_wasi*_normal` refuse preopens).
  use ExUnit.Case, async: true

  alias Wasmex.Wasi.{PreopenOptions, WasiOptions, WasiP2Options}

  @moduletag :tmp_dir

  test "Store.new_wasi/3 with and without preopens", %{tmp_dir: dir} do
    assert {:ok, _} = Wasmex.Store.new_wasi(%WasiOptions{args: ["a"]})
    assert {:ok, _} = Wasmex.Store.new_wasi(%WasiOptions{preopen: [%PreopenOptions{path: dir}]})
  end

  test "Components.Store.new_wasi/3 with and without preopens", %{tmp_dir: dir} do
    assert {:ok, _} = Wasmex.Components.Store.new_wasi(%WasiP2Options{args: ["a"]})

    assert {:ok, _} =
             Wasmex.Components.Store.new_wasi(%WasiP2Options{
               preopen: [%PreopenOptions{path: dir}]
             })
  end

  test "the normal-scheduler NIFs refuse preopens", %{tmp_dir: dir} do
    p1 = WasiOptions.normalize(%WasiOptions{preopen: [%PreopenOptions{path: dir}]})
    p2 = WasiP2Options.normalize(%WasiP2Options{preopen: [%PreopenOptions{path: dir}]})

    assert {:error, "preopened directories need store_new_wasi"} =
             Wasmex.Native.store_new_wasi_normal(p1, nil, nil)

    assert {:error, "preopened directories need store_new_wasi_p2"} =
             Wasmex.Native.store_new_wasi_p2_normal(p2, nil, nil)
  end
end
