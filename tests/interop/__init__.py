"""Tests of lbdemo.interop: EDN, Jepsen and Porcupine histories both ways."""
