# Exits per 128M hot-add against the number of DIMM slots (bench/hotplug.py).
set terminal svg size 640,400 dynamic font "sans,11"
set termoption noenhanced
set output out
set logscale x 2
set xrange [16:512]
set yrange [0:*]
set grid
set key top left
set xlabel "DIMM slots"
set ylabel "exits per 128M hot-add (median)"
plot data using 1:2 with linespoints lw 2 title "memplug: port exits 0xa00-0xa1f", \
     data using 1:3 with linespoints lw 2 title "QEMU: port exits 0xa00-0xa1f", \
     data using 1:4 with linespoints lw 2 dt 2 title "memplug: exits to the VMM", \
     data using 1:5 with linespoints lw 2 dt 2 title "QEMU: exits to the VMM"
