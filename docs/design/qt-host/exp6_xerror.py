"""Does an untrapped X error on GDK's connection end the process? (wry's X11Data::drop calls XDestroyWindow untrapped)"""
import sys, ctypes
from common import Display
TRAP = sys.argv[1] == "trap"
with Display() as disp:
    import gi; gi.require_version("Gtk", "3.0"); from gi.repository import Gtk
    Gtk.init_check(sys.argv)
    gdk = ctypes.CDLL("libgdk-3.so.0"); x11 = ctypes.CDLL("libX11.so.6")
    gdk.gdk_display_get_default.restype = ctypes.c_void_p; gdk.gdk_x11_display_get_xdisplay.restype = ctypes.c_void_p
    gd = ctypes.c_void_p(gdk.gdk_display_get_default()); xd = ctypes.c_void_p(gdk.gdk_x11_display_get_xdisplay(gd))
    if TRAP: gdk.gdk_x11_display_error_trap_push(gd)
    x11.XDestroyWindow(xd, ctypes.c_ulong(0x7fffff)); x11.XSync(xd, 0)
    if TRAP: print("trapped error code:", gdk.gdk_x11_display_error_trap_pop(gd))
    print("process survived the BadWindow", flush=True)
